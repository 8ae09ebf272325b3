CREATE TABLE "idempotency_keys" (
	"user_id" text NOT NULL,
	"key_hash" text NOT NULL,
	"reservation_id" text NOT NULL,
	"fingerprint" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "idempotency_keys_user_id_key_hash_pk" PRIMARY KEY("user_id","key_hash")
);
--> statement-breakpoint
ALTER TABLE "reservations" ALTER COLUMN "order_id" DROP NOT NULL;--> statement-breakpoint
CREATE INDEX "idempotency_keys_reservation_idx" ON "idempotency_keys" USING btree ("reservation_id");--> statement-breakpoint
CREATE INDEX "idempotency_keys_created_idx" ON "idempotency_keys" USING btree ("created_at");