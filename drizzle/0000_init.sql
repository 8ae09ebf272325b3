CREATE TABLE "reconcile_runs" (
	"id" text PRIMARY KEY NOT NULL,
	"trigger" text NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	"expired_released" integer DEFAULT 0 NOT NULL,
	"events_written" integer DEFAULT 0 NOT NULL,
	"drift" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"repaired" boolean DEFAULT false NOT NULL,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "reservation_items" (
	"reservation_id" text NOT NULL,
	"sku" text NOT NULL,
	"line_no" integer NOT NULL,
	"qty" integer NOT NULL,
	"reserved" integer NOT NULL,
	CONSTRAINT "reservation_items_reservation_id_sku_pk" PRIMARY KEY("reservation_id","sku")
);
--> statement-breakpoint
CREATE TABLE "reservations" (
	"id" text PRIMARY KEY NOT NULL,
	"user_id" text NOT NULL,
	"order_id" text NOT NULL,
	"status" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"committed_at" timestamp with time zone,
	"released_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "skus" (
	"sku" text PRIMARY KEY NOT NULL,
	"total" integer NOT NULL,
	"available" integer NOT NULL,
	"reserved" integer NOT NULL,
	"sold" integer NOT NULL,
	"per_user_limit" integer,
	"starts_at" timestamp with time zone,
	"ends_at" timestamp with time zone,
	"version" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stock_movements" (
	"event_key" text PRIMARY KEY NOT NULL,
	"sku" text NOT NULL,
	"type" text NOT NULL,
	"qty" integer NOT NULL,
	"reason" text,
	"actor" text,
	"reservation_id" text,
	"at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "reservation_items" ADD CONSTRAINT "reservation_items_reservation_id_reservations_id_fk" FOREIGN KEY ("reservation_id") REFERENCES "public"."reservations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "reconcile_runs_started_idx" ON "reconcile_runs" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "reservation_items_sku_idx" ON "reservation_items" USING btree ("sku");--> statement-breakpoint
CREATE INDEX "reservations_user_idx" ON "reservations" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "stock_movements_sku_at_idx" ON "stock_movements" USING btree ("sku","at");