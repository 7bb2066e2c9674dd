"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useTRPC } from "~/trpc/react";
import { LoadingOrFailed, NoticeBanner, useNotice } from "./board-parts";
import { relative } from "./format";


/** The caller's sessions (end one or all) and, for an administrator, the company's members (end all of one's). */
export function SessionsBoard({ isAdmin, companyId }: { isAdmin: boolean; companyId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { notice, setNotice, onError } = useNotice();
  const list = useQuery(trpc.session.list.queryOptions());
  const members = useQuery(trpc.session.members.queryOptions(undefined, { enabled: isAdmin }));
  const invalidate = () => queryClient.invalidateQueries({ queryKey: trpc.session.pathKey() });
  const toSignIn = () => window.location.assign("/sign-in");

  const end = useMutation(
    trpc.session.end.mutationOptions({
      onSuccess: ({ signedOut }) => (signedOut ? toSignIn() : setNotice({ tone: "ok", text: "Session ended." })),
      onError,
      onSettled: invalidate,
    }),
  );
  const endAll = useMutation(trpc.session.endAll.mutationOptions({ onSuccess: toSignIn, onError }));
  const endMember = useMutation(
    trpc.session.endMember.mutationOptions({
      onSuccess: ({ ended }, { userId }) => setNotice({ tone: "ok", text: `Ended ${ended} session${ended === 1 ? "" : "s"} of ${userId}.` }),
      onError,
      onSettled: invalidate,
    }),
  );

  if (list.isPending || list.isError) return <LoadingOrFailed query={list} what="sessions" />;

  return (
    <>
      <NoticeBanner notice={notice} />
      <section className="card" aria-labelledby="own-sessions">
        <h2 id="own-sessions">Your sessions</h2>
        <table>
          <thead>
            <tr>
              <th>Browser</th>
              <th>Signed in</th>
              <th>Last seen</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.data.map((s) => (
              <tr key={s.handle} data-testid="session-row" data-current={s.current ? "true" : "false"}>
                <td>
                  {s.browser} {s.current && <span className="badge ok">This browser</span>}
                </td>
                <td title={s.createdAt.toISOString()}>{relative(s.createdAt)}</td>
                <td title={s.lastSeenAt.toISOString()}>{relative(s.lastSeenAt)}</td>
                <td>
                  <button type="button" disabled={end.isPending} onClick={() => end.mutate({ handle: s.handle })}>
                    {s.current ? "Sign out" : "End"}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        <button type="button" className="danger" disabled={endAll.isPending} onClick={() => endAll.mutate()}>
          End all sessions
        </button>
      </section>
      {isAdmin && (
        <section className="card" aria-labelledby="member-sessions">
          <h2 id="member-sessions">Members of {companyId}</h2>
          {members.isError && <p role="alert">{members.error.message}</p>}
          <ul>
            {members.data?.map((m) => (
              <li key={m.userId} data-testid={`member-${m.userId}`}>
                {m.name} ({m.role}) · {m.sessions} active session{m.sessions === 1 ? "" : "s"}{" "}
                <button type="button" disabled={endMember.isPending || m.sessions === 0} onClick={() => endMember.mutate({ userId: m.userId })}>
                  End all sessions of {m.name}
                </button>
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}
