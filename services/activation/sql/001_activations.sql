-- Activations of licenses on machines, the per-license counters (which are
-- also the per-license lock row) and the offline deactivation proofs.
CREATE TABLE license_counters (
    license_id uuid PRIMARY KEY,
    total_activations bigint NOT NULL DEFAULT 0,
    total_deactivations bigint NOT NULL DEFAULT 0
);

CREATE TABLE activations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    license_id uuid NOT NULL,
    product_id uuid NOT NULL,
    fingerprint text NOT NULL,
    hostname text NOT NULL DEFAULT '',
    os text NOT NULL DEFAULT '',
    os_version text NOT NULL DEFAULT '',
    app_version text NOT NULL DEFAULT '',
    vm_name text NOT NULL DEFAULT '',
    offline boolean NOT NULL DEFAULT false,
    client_public_key text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    deactivated_at timestamptz
);

-- one live activation per machine and license (idempotent re-activation)
CREATE UNIQUE INDEX activations_live_fingerprint
    ON activations (license_id, fingerprint) WHERE deactivated_at IS NULL;
CREATE INDEX activations_license ON activations (license_id, created_at);

-- an offline deactivation proof is accepted once
CREATE TABLE deactivation_proofs (
    proof_id bytea PRIMARY KEY,
    activation_id uuid NOT NULL,
    license_id uuid NOT NULL,
    created_at timestamptz NOT NULL
);
