export { AuditTrail, type AuditEvent, type SessionsEnded } from "./audit-trail";
export { AuditLogQuery, csvField, csvHeader, csvRow, isAuditCursor, MAX_PAGE_SIZE, type AuditLogFilters, type AuditLogPage } from "./audit-log-query";
