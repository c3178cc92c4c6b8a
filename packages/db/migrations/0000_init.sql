CREATE TABLE `account` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`provider_id` text NOT NULL,
	`user_id` text NOT NULL,
	`access_token` text,
	`refresh_token` text,
	`id_token` text,
	`access_token_expires_at` integer,
	`refresh_token_expires_at` integer,
	`scope` text,
	`password` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`user_id`) REFERENCES `user`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `account_userId_idx` ON `account` (`user_id`);--> statement-breakpoint
CREATE TABLE `audit` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`actor` text NOT NULL,
	`role` text NOT NULL,
	`action` text NOT NULL,
	`target` text NOT NULL,
	`before_json` text,
	`after_json` text,
	`reason` text NOT NULL,
	`request_id` text,
	`outcome` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_at_idx` ON `audit` (`at`);--> statement-breakpoint
CREATE INDEX `audit_actor_idx` ON `audit` (`actor`,`at`);--> statement-breakpoint
CREATE INDEX `audit_action_idx` ON `audit` (`action`,`at`);--> statement-breakpoint
CREATE INDEX `audit_target_idx` ON `audit` (`target`,`at`);--> statement-breakpoint
CREATE TABLE `config_bootstrap` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`input_json` text NOT NULL,
	`source` text NOT NULL,
	`revision` integer NOT NULL,
	`at` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `control_state` (
	`id` integer PRIMARY KEY NOT NULL,
	`revision` integer DEFAULT 0 NOT NULL,
	`updated_at` integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE `events` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`instance` text NOT NULL,
	`type` text NOT NULL,
	`route` text,
	`upstream` text,
	`payload` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `events_at_idx` ON `events` (`at`);--> statement-breakpoint
CREATE INDEX `events_upstream_at_idx` ON `events` (`upstream`,`at`);--> statement-breakpoint
CREATE INDEX `events_route_at_idx` ON `events` (`route`,`at`);--> statement-breakpoint
CREATE INDEX `events_type_at_idx` ON `events` (`type`,`at`);--> statement-breakpoint
CREATE TABLE `incident_notes` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`incident_id` integer NOT NULL,
	`author` text NOT NULL,
	`body` text NOT NULL,
	`at` integer NOT NULL,
	FOREIGN KEY (`incident_id`) REFERENCES `incidents`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `incident_notes_incident_idx` ON `incident_notes` (`incident_id`,`at`);--> statement-breakpoint
CREATE TABLE `incidents` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`scope_kind` text NOT NULL,
	`scope_id` text NOT NULL,
	`trigger` text NOT NULL,
	`title` text NOT NULL,
	`status` text NOT NULL,
	`opened_at` integer NOT NULL,
	`last_activity_at` integer NOT NULL,
	`acknowledged_by` text,
	`acknowledged_at` integer,
	`resolved_by` text,
	`resolved_at` integer,
	`summary` text
);
--> statement-breakpoint
CREATE INDEX `incidents_status_idx` ON `incidents` (`status`,`opened_at`);--> statement-breakpoint
CREATE INDEX `incidents_scope_idx` ON `incidents` (`scope_kind`,`scope_id`,`status`);--> statement-breakpoint
CREATE TABLE `instances` (
	`instance_id` text PRIMARY KEY NOT NULL,
	`heartbeat_at` integer NOT NULL,
	`snapshot` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `overrides` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`path` text NOT NULL,
	`value_json` text,
	`actor` text NOT NULL,
	`role` text NOT NULL,
	`reason` text NOT NULL,
	`request_id` text,
	`revision` integer NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer,
	`ended_at` integer,
	`ended_by` text,
	`end_reason` text
);
--> statement-breakpoint
CREATE INDEX `overrides_live_idx` ON `overrides` (`ended_at`,`revision`);--> statement-breakpoint
CREATE INDEX `overrides_path_idx` ON `overrides` (`path`,`ended_at`);--> statement-breakpoint
CREATE INDEX `overrides_expires_idx` ON `overrides` (`expires_at`);--> statement-breakpoint
CREATE TABLE `runbook_runs` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`runbook` text NOT NULL,
	`actor` text NOT NULL,
	`role` text NOT NULL,
	`reason` text NOT NULL,
	`status` text NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE INDEX `runbook_runs_runbook_idx` ON `runbook_runs` (`runbook`,`started_at`);--> statement-breakpoint
CREATE TABLE `runbook_steps` (
	`run_id` integer NOT NULL,
	`step` integer NOT NULL,
	`status` text NOT NULL,
	`detail` text,
	`at` integer NOT NULL,
	PRIMARY KEY(`run_id`, `step`),
	FOREIGN KEY (`run_id`) REFERENCES `runbook_runs`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `session` (
	`id` text PRIMARY KEY NOT NULL,
	`expires_at` integer NOT NULL,
	`token` text NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer NOT NULL,
	`ip_address` text,
	`user_agent` text,
	`user_id` text NOT NULL,
	`impersonated_by` text,
	FOREIGN KEY (`user_id`) REFERENCES `user`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `session_token_unique` ON `session` (`token`);--> statement-breakpoint
CREATE INDEX `session_userId_idx` ON `session` (`user_id`);--> statement-breakpoint
CREATE TABLE `sli_minutes` (
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
CREATE INDEX `sli_minutes_start_idx` ON `sli_minutes` (`start`);--> statement-breakpoint
CREATE INDEX `sli_minutes_upstream_idx` ON `sli_minutes` (`upstream`,`start`);--> statement-breakpoint
CREATE TABLE `sli_seconds` (
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
CREATE INDEX `sli_seconds_start_idx` ON `sli_seconds` (`start`);--> statement-breakpoint
CREATE INDEX `sli_seconds_upstream_idx` ON `sli_seconds` (`upstream`,`start`);--> statement-breakpoint
CREATE TABLE `store_meta` (
	`key` text PRIMARY KEY NOT NULL,
	`value` integer NOT NULL
);
--> statement-breakpoint
CREATE TABLE `user` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`email` text NOT NULL,
	`email_verified` integer DEFAULT false NOT NULL,
	`image` text,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`role` text,
	`banned` integer DEFAULT false,
	`ban_reason` text,
	`ban_expires` integer
);
--> statement-breakpoint
CREATE UNIQUE INDEX `user_email_unique` ON `user` (`email`);--> statement-breakpoint
CREATE TABLE `verification` (
	`id` text PRIMARY KEY NOT NULL,
	`identifier` text NOT NULL,
	`value` text NOT NULL,
	`expires_at` integer NOT NULL,
	`created_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL,
	`updated_at` integer DEFAULT (cast(unixepoch('subsecond') * 1000 as integer)) NOT NULL
);
--> statement-breakpoint
CREATE INDEX `verification_identifier_idx` ON `verification` (`identifier`);