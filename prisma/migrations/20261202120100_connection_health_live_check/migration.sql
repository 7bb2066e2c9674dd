-- AlterTable
ALTER TABLE "ConnectionHealth" ADD COLUMN "liveCheckAt" TIMESTAMPTZ(3);
