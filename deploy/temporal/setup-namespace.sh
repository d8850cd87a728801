#!/bin/sh
# Once Temporal answers: creates the namespace Strongbox uses and registers Strongbox's custom
# search attributes (docker-compose.yml's one-shot `temporal-setup` job, temporalio/admin-tools
# image). Idempotent: what exists already is left as it is.
#
# The attributes must match src/temporal/search-attributes.ts (SEARCH_ATTRIBUTES); a test checks it.
set -eu
ADDRESS="${TEMPORAL_ADDRESS:-temporal:7233}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
RETENTION="${TEMPORAL_NAMESPACE_RETENTION:-30d}"

echo "waiting for Temporal at ${ADDRESS}…"
attempt=0
until temporal operator cluster health --address "${ADDRESS}" >/dev/null 2>&1; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 60 ]; then echo "temporal did not become healthy" >&2; exit 1; fi
  sleep 5
done

if temporal operator namespace describe --address "${ADDRESS}" --namespace "${NAMESPACE}" >/dev/null 2>&1; then
  echo "namespace ${NAMESPACE} exists"
else
  temporal operator namespace create --address "${ADDRESS}" --namespace "${NAMESPACE}" --retention "${RETENTION}"
fi

register() {
  if temporal operator search-attribute list --address "${ADDRESS}" --namespace "${NAMESPACE}" | grep -qw "$1"; then
    echo "search attribute $1 exists"
  else
    temporal operator search-attribute create --address "${ADDRESS}" --namespace "${NAMESPACE}" --name "$1" --type "$2"
  fi
}
register StrongboxTarget Keyword
register StrongboxTier KeywordList
register StrongboxOutcome Keyword
register StrongboxBytes Int
register StrongboxKind Keyword
register StrongboxBackupId Keyword
echo "temporal namespace ${NAMESPACE} ready"
