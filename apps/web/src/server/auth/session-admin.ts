import type { Caller } from "./caller";
import type { ServerSessions } from "./server-sessions";

/** What the sessions procedures need: the session service and who belongs to a company. */
export interface SessionAdmin {
  sessions: ServerSessions;
  /** The users of a company (an administrator may end their sessions); none when a host app manages users. */
  members: (companyId: string) => Caller[];
}
