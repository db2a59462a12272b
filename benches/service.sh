#!/usr/bin/env bash
# The service benchmarks (issue 5), side by side with the peers in ../shared/peers, on this
# machine, in one run: forbear serve against the FastAPI + scikit-learn peer and against a bare
# axum handler (the ceiling), at 64 and 8 connections; /v1/recommend against the peer's
# /v1/score; Arrow bulk scoring of 1,000,000 accounts through HTTP.
#
# usage: benches/service.sh            (DUR=10 seconds per run, ROUNDS=3 alternations)
# Needs ../shared/data/taiwan-credit-default.csv (skips with a notice when absent) and the
# peers' setup (run here if missing). Results go to standard output; copy them to RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=../shared/peers
DATA=../shared/data/taiwan-credit-default.csv
DUR=${DUR:-10}
export ROUNDS=${ROUNDS:-3}
if [[ ! -r $DATA ]]; then
  echo "skipped: $DATA is absent (the benchmark scores the Taiwan credit-card data)"
  exit 0
fi
[[ -x ${PEER_VENV:-$HOME/.cache/forbear-peer-venv}/bin/python ]] || bash "$PEERS/setup.sh"
cargo build --release -q -p forbear-cli -p forbear-benches --bin forbear --bin bare-axum --bin arrow-body
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

cp -r models "$WORK/models"
target/release/forbear train table --input "$DATA" --target default.payment.next.month --drop ID \
  --out "$WORK/models/taiwan/v1-taiwan" 2>&1 | tail -3
PEER_MODEL=logistic PEER_TCP_NODELAY=1 "$PEERS/peer_service/run_peer.sh" 18101 >"$WORK/peer.log" 2>&1 &
PIDS+=($!)
target/release/bare-axum 127.0.0.1:18102 >"$WORK/bare.log" 2>&1 &
PIDS+=($!)
FORBEAR_DECISION_LOG_DIR="$WORK/decisions" target/release/forbear serve --dev \
  --models "$WORK/models" --listen 127.0.0.1:18100 >"$WORK/forbear.log" 2>&1 &
PIDS+=($!)
"$PEERS/peer_service/wait_ready.sh" http://127.0.0.1:18101 >/dev/null
for _ in $(seq 100); do curl -sf http://127.0.0.1:18100/readyz >/dev/null && break; sleep 0.1; done

PEER=http://127.0.0.1:18101/v1/score
BARE=http://127.0.0.1:18102/v1/score
OURS=http://127.0.0.1:18100/v1/score
SCORE=benches/bodies/score_taiwan.json
echo "# $(date -u +%FT%TZ) $(lscpu | sed -n 's/^Model name: *//p' | head -1) x$(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "## /v1/score, one account per request, 64 connections: peer (A) vs forbear (B)"
LABEL_A=peer LABEL_B=forbear "$PEERS/side_by_side.sh" "$PEER" "$OURS" "$SCORE" "$DUR" 64
echo "## /v1/score, 64 connections: bare axum (A) vs forbear (B)"
LABEL_A=bare LABEL_B=forbear "$PEERS/side_by_side.sh" "$BARE" "$OURS" "$SCORE" "$DUR" 64
echo "## /v1/score, 8 connections: bare axum (A) vs forbear (B)"
LABEL_A=bare LABEL_B=forbear "$PEERS/side_by_side.sh" "$BARE" "$OURS" "$SCORE" "$DUR" 8
# The same at 8 connections with one request thread each (forbear --workers 1; tokio reads
# TOKIO_WORKER_THREADS for the bare handler): wrk's two threads and the servers' share the two
# cores, and the tail is the scheduler's.
TOKIO_WORKER_THREADS=1 target/release/bare-axum 127.0.0.1:18104 >"$WORK/bare1.log" 2>&1 &
PIDS+=($!)
FORBEAR_DECISION_LOG_DIR="$WORK/decisions1" target/release/forbear serve --dev --workers 1 \
  --models "$WORK/models" --listen 127.0.0.1:18103 >"$WORK/forbear1.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do curl -sf http://127.0.0.1:18103/readyz >/dev/null && break; sleep 0.1; done
echo "## /v1/score, 8 connections, one request thread each: bare axum (A) vs forbear (B)"
LABEL_A=bare-1 LABEL_B=forbear-1 "$PEERS/side_by_side.sh" http://127.0.0.1:18104/v1/score \
  http://127.0.0.1:18103/v1/score "$SCORE" "$DUR" 8
echo "## /v1/score, 64 connections, one request thread each: bare axum (A) vs forbear (B)"
LABEL_A=bare-1 LABEL_B=forbear-1 "$PEERS/side_by_side.sh" http://127.0.0.1:18104/v1/score \
  http://127.0.0.1:18103/v1/score "$SCORE" "$DUR" 64
kill "${PIDS[-1]}" "${PIDS[-2]}" 2>/dev/null || true
echo "## /v1/recommend (forbear) against the peer's /v1/score, 64 connections, alternating"
for r in $(seq "$ROUNDS"); do
  echo "round $r peer-score $(NO_PREFLIGHT=1 "$PEERS/load.sh" "$PEER" "$SCORE" "$DUR" 64)"
  sleep 2
  echo "round $r forbear-recommend $("$PEERS/load.sh" http://127.0.0.1:18100/v1/recommend benches/bodies/recommend.json "$DUR" 64)"
  sleep 2
done
echo "## Arrow bulk scoring: 1,000,000 accounts per request through HTTP"
target/release/arrow-body "$DATA" 1000000 "$WORK/bulk.arrow"
for r in $(seq "$ROUNDS"); do
  t=$(curl -s -o "$WORK/out.arrow" -w '%{http_code} %{time_total}' -X POST \
    -H 'content-type: application/vnd.apache.arrow.stream' --data-binary @"$WORK/bulk.arrow" \
    "http://127.0.0.1:18100/v1/score/arrow?model=taiwan")
  awk -v t="$t" 'BEGIN{split(t,a," "); printf "round '"$r"' status=%s seconds=%.3f accounts_per_s=%.0f\n", a[1], a[2], 1e6/a[2]}'
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
