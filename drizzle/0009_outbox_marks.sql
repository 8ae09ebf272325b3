CREATE TABLE "outbox_marks" (
	"partition" integer PRIMARY KEY NOT NULL,
	"epoch" text NOT NULL,
	"entry_id" text NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
