CREATE TABLE "stock_levels" (
	"sku" text NOT NULL,
	"location" text NOT NULL,
	"position" integer NOT NULL,
	"active" boolean NOT NULL,
	"total" integer NOT NULL,
	"available" integer NOT NULL,
	"reserved" integer NOT NULL,
	"sold" integer NOT NULL,
	"version" bigint DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "stock_levels_sku_location_pk" PRIMARY KEY("sku","location")
);
--> statement-breakpoint
ALTER TABLE "reservation_items" DROP CONSTRAINT "reservation_items_reservation_id_sku_pk";--> statement-breakpoint
ALTER TABLE "reservation_items" ADD CONSTRAINT "reservation_items_reservation_id_line_no_pk" PRIMARY KEY("reservation_id","line_no");--> statement-breakpoint
ALTER TABLE "reservation_items" ADD COLUMN "allocations" jsonb;--> statement-breakpoint
ALTER TABLE "stock_movements" ADD COLUMN "location" text DEFAULT 'default' NOT NULL;--> statement-breakpoint
-- Every SKU existing before locations keeps its units in its one location, "default".
INSERT INTO "stock_levels" ("sku", "location", "position", "active", "total", "available", "reserved", "sold", "version")
SELECT "sku", 'default', 0, true, "total", "available", "reserved", "sold", "version" FROM "skus"
ON CONFLICT DO NOTHING;
