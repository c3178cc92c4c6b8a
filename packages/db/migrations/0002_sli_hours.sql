CREATE TABLE `sli_hours` (
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
	PRIMARY KEY(`route`, `upstream`, `start`)
);
--> statement-breakpoint
CREATE INDEX `sli_hours_start_idx` ON `sli_hours` (`start`);--> statement-breakpoint
CREATE INDEX `sli_hours_upstream_idx` ON `sli_hours` (`upstream`,`start`);