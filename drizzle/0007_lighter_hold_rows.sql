ALTER TABLE "reservation_items" DROP CONSTRAINT "reservation_items_reservation_id_reservations_id_fk";
--> statement-breakpoint
DROP INDEX "stock_movements_reservation_idx";--> statement-breakpoint
CREATE INDEX "stock_movements_commit_idx" ON "stock_movements" USING btree ("reservation_id") WHERE "stock_movements"."type" = 'COMMIT';