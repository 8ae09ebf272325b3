CREATE TABLE "bucket_moves" (
	"id" text PRIMARY KEY NOT NULL,
	"from_sku" text NOT NULL,
	"to_sku" text NOT NULL,
	"qty" integer NOT NULL,
	"out_at" timestamp with time zone,
	"in_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "skus" ADD COLUMN "buckets" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
CREATE INDEX "bucket_moves_unfinished_idx" ON "bucket_moves" USING btree ("out_at") WHERE "bucket_moves"."in_at" is null;