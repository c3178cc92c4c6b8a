DROP INDEX `events_type_at_idx`;--> statement-breakpoint
PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_sli_seconds` (
	`start` integer NOT NULL,
	`route` text NOT NULL,
	`upstream` text NOT NULL,
	`success` integer DEFAULT 0 NOT NULL,
	`http_5xx` integer DEFAULT 0 NOT NULL,
	`connect_error` integer DEFAULT 0 NOT NULL,
	`timeout` integer DEFAULT 0 NOT NULL,
	`rate_limited` integer DEFAULT 0 NOT NULL,
	`client_error` integer DEFAULT 0 NOT NULL,
	`rejected` integer DEFAULT 0 NOT NULL,
	`retries` integer DEFAULT 0 NOT NULL,
	`fallbacks` integer DEFAULT 0 NOT NULL,
	`slow` integer DEFAULT 0 NOT NULL,
	`latency` text NOT NULL,
	PRIMARY KEY(`start`, `route`, `upstream`)
) WITHOUT ROWID;
--> statement-breakpoint
INSERT INTO `__new_sli_seconds`("start", "route", "upstream", "success", "http_5xx", "connect_error", "timeout", "rate_limited", "client_error", "rejected", "retries", "fallbacks", "slow", "latency") SELECT "start", "route", "upstream", "success", "http_5xx", "connect_error", "timeout", "rate_limited", "client_error", "rejected", "retries", "fallbacks", "slow", "latency" FROM `sli_seconds`;--> statement-breakpoint
DROP TABLE `sli_seconds`;--> statement-breakpoint
ALTER TABLE `__new_sli_seconds` RENAME TO `sli_seconds`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `sli_seconds_upstream_idx` ON `sli_seconds` (`upstream`,`start`);