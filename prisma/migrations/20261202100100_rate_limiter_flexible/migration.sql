-- Counters of rate-limiter-flexible (its Prisma model, as the library documents it), for limits
-- when no Redis is configured: failed sign-ins per account and per client address.

-- CreateTable
CREATE TABLE "RateLimiterFlexible" (
    "key" TEXT NOT NULL,
    "points" INTEGER NOT NULL,
    "expire" TIMESTAMPTZ(3),

    CONSTRAINT "RateLimiterFlexible_pkey" PRIMARY KEY ("key")
);
