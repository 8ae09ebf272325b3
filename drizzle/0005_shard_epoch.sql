ALTER TABLE "skus" ADD COLUMN "epoch" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "stock_levels" ADD COLUMN "epoch" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "webhook_stock_state" ADD COLUMN "epoch" bigint DEFAULT 0 NOT NULL;