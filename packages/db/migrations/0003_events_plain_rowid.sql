PRAGMA foreign_keys=OFF;--> statement-breakpoint
CREATE TABLE `__new_events` (
	`id` integer PRIMARY KEY NOT NULL,
	`at` integer NOT NULL,
	`instance` text NOT NULL,
	`type` text NOT NULL,
	`route` text,
	`upstream` text,
	`payload` text NOT NULL
);
--> statement-breakpoint
INSERT INTO `__new_events`("id", "at", "instance", "type", "route", "upstream", "payload") SELECT "id", "at", "instance", "type", "route", "upstream", "payload" FROM `events`;--> statement-breakpoint
DROP TABLE `events`;--> statement-breakpoint
ALTER TABLE `__new_events` RENAME TO `events`;--> statement-breakpoint
PRAGMA foreign_keys=ON;--> statement-breakpoint
CREATE INDEX `events_at_idx` ON `events` (`at`);--> statement-breakpoint
CREATE INDEX `events_upstream_at_idx` ON `events` (`upstream`,`at`);--> statement-breakpoint
CREATE INDEX `events_route_at_idx` ON `events` (`route`,`at`);--> statement-breakpoint
CREATE INDEX `events_type_at_idx` ON `events` (`type`,`at`);