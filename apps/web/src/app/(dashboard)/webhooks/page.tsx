import { WebhooksBoard } from "~/components/webhooks-board";
import { currentCaller } from "~/server/api/services";

export default async function WebhooksPage() {
  const caller = await currentCaller();
  if (caller?.role !== "admin") {
    return (
      <main>
        <h1>Webhooks</h1>
        <p role="alert" className="banner bad">
          Only administrators can manage webhooks.
        </p>
      </main>
    );
  }
  return (
    <main className="wide">
      <h1>Webhooks</h1>
      <p className="lead">
        Where {caller.companyId}&apos;s connection events are sent, signed per Standard Webhooks: refresh failures, recoveries, expiries, reauthorization reminders and
        disconnections. Failed deliveries are retried with backoff for more than a day.
      </p>
      <WebhooksBoard />
    </main>
  );
}
