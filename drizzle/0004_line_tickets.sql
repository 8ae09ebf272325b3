CREATE TABLE "line_tickets" (
	"id" text PRIMARY KEY NOT NULL,
	"sku" text NOT NULL,
	"user_id" text NOT NULL,
	"qty" integer NOT NULL,
	"order_id" text,
	"status" text NOT NULL,
	"place" double precision NOT NULL,
	"lobby" boolean NOT NULL,
	"joined_at" timestamp with time zone NOT NULL,
	"admitted_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"reservation_id" text,
	"line_removed" boolean DEFAULT false NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "skus" ADD COLUMN "line_hold_ttl_ms" integer;--> statement-breakpoint
ALTER TABLE "skus" ADD COLUMN "line_lobby_ms" integer;--> statement-breakpoint
CREATE INDEX "line_tickets_sku_status_idx" ON "line_tickets" USING btree ("sku","status");