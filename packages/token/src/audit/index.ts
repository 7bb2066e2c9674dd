export { AuditLogQuery, csvField, csvHeader, csvRow, MAX_PAGE_SIZE, type AuditLogFilters, type AuditLogPage } from "./audit-log-query";
