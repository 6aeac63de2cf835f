-- migrate:no-transaction
-- Indexes from seeds/003 (PRD-028), built CONCURRENTLY so they can go onto a live database without
-- blocking writes. CONCURRENTLY cannot run inside a transaction block: the runner applies this file
-- one statement at a time and drops an INVALID leftover of an interrupted build first (IF NOT EXISTS
-- alone would keep the broken index). Each index is proven by an EXPLAIN test on 100k rows
-- (test/target/stores/explain.test.ts) against the SQL constants of target/stores/postgres.ts.

-- Covering: the validation lookup (TOKEN_STATE_SQL) reads only these columns, so it is an
-- index-only scan and never touches the heap once the visibility map is set.
CREATE INDEX CONCURRENTLY IF NOT EXISTS tokens_validation_covering_idx
  ON tokens (token_id) INCLUDE (token_type, expires_at, revoked_at, used_at);

-- Partial and composite: revoking a client's outstanding tokens (REVOKE_CLIENT_TOKENS_SQL) filters
-- on client_id and expires_at among unrevoked rows only; revoked rows never enter this index.
CREATE INDEX CONCURRENTLY IF NOT EXISTS tokens_unrevoked_client_expiry_idx
  ON tokens (client_id, expires_at) WHERE revoked_at IS NULL;

-- The sweeper's inner SELECT (DELETE_EXPIRED_SQL) walks expiry order and needs only the id.
CREATE INDEX CONCURRENTLY IF NOT EXISTS tokens_expires_at_idx
  ON tokens (expires_at) INCLUDE (token_id);

-- Expression: resources are matched case-insensitively (FIND_ENDPOINTS_BY_URL_SQL).
CREATE INDEX CONCURRENTLY IF NOT EXISTS endpoints_url_lower_idx
  ON endpoints (lower(endpoint_url)) WHERE active;
