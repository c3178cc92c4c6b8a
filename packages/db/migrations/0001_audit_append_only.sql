-- The audit log is append-only: rows can be inserted, never changed or removed.
CREATE TRIGGER `audit_no_update` BEFORE UPDATE ON `audit`
BEGIN
  SELECT RAISE(ABORT, 'audit log is append-only');
END;
--> statement-breakpoint
CREATE TRIGGER `audit_no_delete` BEFORE DELETE ON `audit`
BEGIN
  SELECT RAISE(ABORT, 'audit log is append-only');
END;
--> statement-breakpoint
INSERT INTO `control_state` (`id`, `revision`, `updated_at`) VALUES (1, 0, 0) ON CONFLICT DO NOTHING;
