"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Bar, CartesianGrid, ComposedChart, Legend, Line, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { useTRPC } from "~/trpc/react";

const RANGES = [7, 30] as const;

/**
 * A connection's health over the last 7 or 30 days, from its audit rows: refreshes and live
 * checks per day by outcome (stacked bars) and their mean provider latency (lines, right axis).
 * With its id, that connection's own (its checks, its grant's refreshes); without, the provider's.
 */
export function ConnectionHistoryChart({ provider, connectionId }: { provider: string; connectionId?: string | null }) {
  const trpc = useTRPC();
  const [days, setDays] = useState<(typeof RANGES)[number]>(7);
  const history = useQuery(trpc.connection.history.queryOptions(connectionId ? { connectionId, days } : { provider, days }, { refetchInterval: 60_000 }));

  return (
    <figure className="history" data-testid={`history-${provider}`} data-connection-id={connectionId ?? undefined}>
      <figcaption>
        <span>Health, last {days} days</span>
        <span className="toggle" role="group" aria-label="History range">
          {RANGES.map((range) => (
            <button key={range} type="button" aria-pressed={days === range} onClick={() => setDays(range)}>
              {range} days
            </button>
          ))}
        </span>
      </figcaption>
      {history.isPending && <p aria-busy="true" className="muted">Loading history…</p>}
      {history.isError && <p role="alert" className="error-text">History could not be loaded: {history.error.message}</p>}
      {history.data && (
        <div className="chart" data-days={days}>
          <ResponsiveContainer width="100%" height={180}>
            <ComposedChart data={history.data.map((d) => ({ ...d, label: d.day.slice(5) }))} margin={{ top: 8, right: 8, bottom: 0, left: -16 }}>
              <CartesianGrid strokeDasharray="3 3" vertical={false} />
              <XAxis dataKey="label" fontSize={11} interval="preserveStartEnd" />
              <YAxis yAxisId="count" allowDecimals={false} fontSize={11} />
              <YAxis yAxisId="ms" orientation="right" fontSize={11} unit=" ms" width={56} />
              <Tooltip />
              <Legend wrapperStyle={{ fontSize: 11 }} />
              <Bar yAxisId="count" dataKey="refreshSuccess" name="Refreshed" stackId="n" fill="#2f855a" isAnimationActive={false} />
              <Bar yAxisId="count" dataKey="refreshFailure" name="Refresh failed" stackId="n" fill="#c53030" isAnimationActive={false} />
              <Bar yAxisId="count" dataKey="checkSuccess" name="Check passed" stackId="n" fill="#68d391" isAnimationActive={false} />
              <Bar yAxisId="count" dataKey="checkFailure" name="Check failed" stackId="n" fill="#feb2b2" isAnimationActive={false} />
              <Line yAxisId="ms" dataKey="refreshLatencyMs" name="Refresh latency" stroke="#2b6cb0" dot={{ r: 2 }} connectNulls isAnimationActive={false} />
              <Line yAxisId="ms" dataKey="checkLatencyMs" name="Check latency" stroke="#805ad5" dot={{ r: 2 }} connectNulls isAnimationActive={false} />
            </ComposedChart>
          </ResponsiveContainer>
        </div>
      )}
    </figure>
  );
}
