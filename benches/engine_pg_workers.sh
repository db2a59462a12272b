#!/usr/bin/env bash
# Two engine worker processes side by side on one PostgreSQL store against one worker alone.
# The same portfolio is loaded into two schemas; schema `one` is brought up to date by one
# process, schema `two` by two processes at once (accounts claimed with FOR UPDATE SKIP LOCKED).
# Then the engine events of both are compared: identical sets mean no account step was processed
# twice (a second processing would add events or change their bodies) and none was missed.
#
#   cargo build --release -p forbear-benches --bin engine-portfolio
#   ACCOUNTS=100000 benches/engine_pg_workers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N="${ACCOUNTS:-100000}"
BASE="${FORBEAR_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432/test}"
BIN=target/release/engine-portfolio
PSQL=(psql -h 127.0.0.1 -U postgres -d test -qAt)
for s in one two; do
    "${PSQL[@]}" -c "DROP SCHEMA IF EXISTS bench_$s CASCADE"
    $BIN --phase ingest --accounts "$N" --store "$BASE?schema=bench_$s"
done
echo "== one worker"
start=$(date +%s.%N)
$BIN --phase catchup --accounts "$N" --store "$BASE?schema=bench_one" | tee /tmp/pg_one.json
one=$(echo "$(date +%s.%N) - $start" | bc)
echo "== two workers side by side"
start=$(date +%s.%N)
$BIN --phase catchup --accounts "$N" --store "$BASE?schema=bench_two" > /tmp/pg_two_a.json &
$BIN --phase catchup --accounts "$N" --store "$BASE?schema=bench_two" > /tmp/pg_two_b.json &
wait
two=$(echo "$(date +%s.%N) - $start" | bc)
cat /tmp/pg_two_a.json /tmp/pg_two_b.json
diff=$("${PSQL[@]}" -c "SELECT count(*) FROM (SELECT event_id, body FROM bench_one.events WHERE kind NOT IN ('account_opened','risk_assessed','invoice_issued','payment_received') EXCEPT SELECT event_id, body FROM bench_two.events) a")
diff2=$("${PSQL[@]}" -c "SELECT count(*) FROM (SELECT event_id, body FROM bench_two.events EXCEPT SELECT event_id, body FROM bench_one.events) a")
engine_events=$("${PSQL[@]}" -c "SELECT count(*) FROM bench_one.events WHERE event_id LIKE '%.%' AND kind NOT IN ('account_opened','risk_assessed','invoice_issued','payment_received')")
outbox_one=$("${PSQL[@]}" -c "SELECT count(*) FROM bench_one.outbox")
outbox_two=$("${PSQL[@]}" -c "SELECT count(*) FROM bench_two.outbox")
echo "{\"accounts\":$N,\"one_worker_seconds\":$one,\"two_workers_seconds\":$two,\"speedup\":$(echo "scale=3; $one / $two" | bc),\"engine_events\":$engine_events,\"only_in_one\":$diff,\"only_in_two\":$diff2,\"outbox_one\":$outbox_one,\"outbox_two\":$outbox_two}"
