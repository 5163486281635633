#!/usr/bin/env bash
# The directory at scale: with USERS accounts (default 1,000,000) on SQLite and on PostgreSQL,
# measures with wrk, on this machine and in one run,
#   - GET /ping (the server's ceiling: no database),
#   - GET /clients/{username} (a lookup of a random user),
#   - GET /clients?limit=100 (a listing page after a random user),
#   - the same lookups during a registration storm (POST /register, bcrypt cost 12),
# prints req/s, p50 and p99 of each, and the ratios against the goals of issue 9, and writes
# them with the machine and its load to docs/performance.md.
#
# Usage: directory-server/benches/scale/run.sh [USERS]
# Environment: DURATION (seconds per measurement, default 10), CONNECTIONS (wrk's, default 64).
# Installs wrk, sqlite3, curl and postgresql from Debian's packages when missing (as root).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
users="${1:-1000000}"
duration="${DURATION:-10}"
connections="${CONNECTIONS:-64}"
password="correct horse battery"
key="$(printf 'ab%.0s' $(seq 32))"

missing=()
type -P wrk >/dev/null || missing+=(wrk)
type -P sqlite3 >/dev/null || missing+=(sqlite3)
type -P curl >/dev/null || missing+=(curl)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "--- installing ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi
pgbin="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"

echo "--- cargo build --release -p p2p-chat-directory"
(cd "$root" && cargo build --release --locked -p p2p-chat-directory)
bin="$root/target/release/p2p-chat-directory"

work="$(mktemp -d /tmp/p2p-chat-scale-XXXXXX)"
directory_pid=""
pg_pid=""
as_postgres=()
cleanup() {
    if [ -n "$directory_pid" ]; then
        kill "$directory_pid" 2>/dev/null || true
        wait "$directory_pid" 2>/dev/null || true
    fi
    if [ -n "$pg_pid" ]; then
        # pg_ctl stops the server itself (a signal to runuser would not reach it).
        "${as_postgres[@]}" "$pgbin/pg_ctl" -D "$work/pg" stop -m fast >/dev/null 2>&1 || true
        wait "$pg_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# start_directory DATABASE_URL: starts the directory, sets $url.
start_directory() {
    # Every request comes from 127.0.0.1 here: no per-address limits.
    RUST_LOG=warn "$bin" --listen 127.0.0.1:0 --database "$1" --rate-limit-per-minute 0 \
        --max-connections-per-address 4096 \
        >"$work/directory.out" 2>"$work/directory.err" &
    directory_pid=$!
    for _ in $(seq 600); do
        url="$(sed -n 's/^p2p-chat-directory listening on //p' "$work/directory.out")"
        [ -n "$url" ] && return 0
        sleep 0.1
    done
    cat "$work/directory.err" >&2
    exit 1
}
stop_directory() {
    kill "$directory_pid" && wait "$directory_pid" || true
    directory_pid=""
}

# The bench user, registered and logged in through the API; sets $token.
bench_user() {
    curl -fsS -X POST "$url/register" -H 'content-type: application/json' \
        -d "{\"username\":\"bench\",\"password\":\"$password\",\"host\":\"192.0.2.1\",\"port\":40000,\"public_key\":\"$key\"}" >/dev/null
    token="$(curl -fsS -X POST "$url/login" -H 'content-type: application/json' \
        -d "{\"username\":\"bench\",\"password\":\"$password\"}" | sed 's/.*"token":"\([^"]*\)".*/\1/')"
}

# wrk_run NAME THREADS CONNECTIONS SECONDS [SCRIPT]: output in $work/NAME.txt.
wrk_run() {
    local name=$1 threads=$2 conns=$3 secs=$4 script=${5:-}
    local path=/ping
    [ -n "$script" ] && path=/
    # A long timeout: wrk's default of 2 s would count slow registrations as errors and leave
    # them out of the latencies.
    USERS="$users" TOKEN="$token" wrk -t"$threads" -c"$conns" -d"${secs}s" --latency --timeout 60s \
        ${script:+-s "$here/$script"} "$url$path" >"$work/$name.txt"
}

# Figures of a wrk report: "req/s p50_ms p99_ms errors".
figures() {
    awk '
        function ms(v) {
            if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0;
            if (v ~ /m$/) return v * 60000; if (v ~ /s$/) return v * 1000; return v
        }
        /Requests\/sec/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses/ { errors += $5 }
        /Socket errors/ { for (i = 3; i <= NF; i += 2) errors += $(i + 1) }
        END { printf "%.0f %.2f %.2f %d\n", rps, p50, p99, errors }
    ' "$work/$1.txt"
}

# measure BACKEND: the four figures into $work/BACKEND.results (one "name rps p50 p99 errors"
# per line), and the load average before it.
measure() {
    local backend=$1
    echo "--- $backend: measuring (${duration} s each, $connections connections)"
    cut -d' ' -f1-3 /proc/loadavg >"$work/$backend.load"
    wrk_run "$backend-ping" 2 "$connections" "$duration"
    wrk_run "$backend-lookup" 2 "$connections" "$duration" lookup.lua
    wrk_run "$backend-listing" 2 "$connections" "$duration" listing.lua
    # The storm: 8 registrations at a time, from before the lookups start to after they end.
    wrk_run "$backend-storm" 1 8 "$((duration + 4))" register.lua &
    local storm=$!
    sleep 2
    wrk_run "$backend-stormlookup" 2 "$connections" "$duration" lookup.lua
    wait "$storm"
    : >"$work/$backend.results"
    for name in ping lookup listing stormlookup storm; do
        echo "$name $(figures "$backend-$name")" >>"$work/$backend.results"
    done
    cat "$work/$backend.results"
}

seed_sql_columns="username, password_hash, host, port, registered_at, last_seen, public_key, candidates, relay_only"

# SQLite ----------------------------------------------------------------------------------
echo "--- SQLite: $users users"
sqlite_url="sqlite://$work/directory.db"
start_directory "$sqlite_url"
bench_user
stop_directory
now_ms="$(($(date +%s) * 1000))"
sqlite3 "$work/directory.db" <<SQL
INSERT INTO clients ($seed_sql_columns)
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $users)
SELECT printf('user%07d', i), (SELECT password_hash FROM clients WHERE username = 'bench'),
       '192.0.2.1', 40000, $now_ms, $now_ms, '$key', '', 0
FROM n;
ANALYZE;
SQL
start_directory "$sqlite_url"
measure sqlite
stop_directory

# PostgreSQL ------------------------------------------------------------------------------
echo "--- PostgreSQL: $users users"
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$work"
    as_postgres=(runuser -u postgres --)
fi
"${as_postgres[@]}" "$pgbin/initdb" -D "$work/pg" -A trust -U postgres -E UTF8 --no-sync \
    --locale=C.UTF-8 >"$work/initdb.log"
pg_port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 54329)"
"${as_postgres[@]}" "$pgbin/postgres" -D "$work/pg" -k "$work" -p "$pg_port" \
    -c listen_addresses=127.0.0.1 -c max_connections=200 >"$work/pg.log" 2>&1 &
pg_pid=$!
for _ in $(seq 300); do
    "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break
    sleep 0.1
done
"$pgbin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres directory
pg_url="postgres://postgres@127.0.0.1:$pg_port/directory"
start_directory "$pg_url"
bench_user
"$pgbin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres directory <<SQL
INSERT INTO clients ($seed_sql_columns)
SELECT format('user%s', lpad(i::text, 7, '0')),
       (SELECT password_hash FROM clients WHERE username = 'bench'),
       '192.0.2.1', 40000, $now_ms, $now_ms, '$key', '', FALSE
FROM generate_series(1, $users) AS i;
VACUUM ANALYZE clients;
SQL
measure postgres
stop_directory

# Report ----------------------------------------------------------------------------------
field() { awk -v n="$2" -v f="$3" '$1 == n { print $f }' "$work/$1.results"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
row() {
    local backend=$1 name=$2 label=$3
    printf '| %s | %s | %s | %s | %s |\n' "$label" "$(field "$backend" "$name" 2)" \
        "$(field "$backend" "$name" 3)" "$(field "$backend" "$name" 4)" "$(field "$backend" "$name" 5)"
}
table() {
    local backend=$1
    echo "| Request | req/s | p50 ms | p99 ms | errors (non-2xx, socket) |"
    echo "|---|---:|---:|---:|---:|"
    row "$backend" ping 'GET /ping'
    row "$backend" lookup 'GET /clients/{username}'
    row "$backend" listing 'GET /clients?limit=100'
    row "$backend" stormlookup 'GET /clients/{username} during the storm'
    row "$backend" storm 'POST /register (the storm, 8 at a time)'
}
goals() {
    local backend=$1
    local ping lookup listing storm
    ping="$(field "$backend" ping 2)"
    lookup="$(field "$backend" lookup 2)"
    listing="$(field "$backend" listing 2)"
    storm="$(field "$backend" stormlookup 2)"
    echo "| Ratio | measured | goal |"
    echo "|---|---:|---:|"
    echo "| lookup / ping | $(ratio "$lookup" "$ping") | ≥ 0.50 |"
    echo "| listing page / ping | $(ratio "$listing" "$ping") | ≥ 0.10 |"
    echo "| lookups during the storm / calm lookups | $(ratio "$storm" "$lookup") | ≥ 0.80 |"
}

out="$root/docs/performance.md"
# Before the file is rewritten, or the tree would always read as changed.
commit="$(cd "$root" && git describe --always --dirty)"
{
    echo "# Directory performance"
    echo
    echo "Generated by \`directory-server/benches/scale/run.sh\` (do not edit by hand: run it"
    echo "again). The figures come from one run on one machine; the ratios compare requests"
    echo "measured in that same run, which is what carries over to other machines."
    echo
    echo "- Date: $(date -u +%Y-%m-%d), commit $commit"
    echo "- Machine: $(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "- Load average (1, 5, 15 min) before SQLite: $(cat "$work/sqlite.load"); before PostgreSQL: $(cat "$work/postgres.load")"
    echo "- $users users; wrk with $connections connections and 2 threads for $duration s per figure, on the same machine as the directory (it takes CPU too); the storm is a second wrk with 8 connections registering new users (bcrypt cost 12), started 2 s before the lookups and ended 2 s after them"
    echo "- Release build; the directory with \`--rate-limit-per-minute 0 --max-connections-per-address 4096\` (all the load comes from one address), defaults otherwise; PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}') with its defaults on loopback"
    echo
    echo "Registrations during the storm are slow by design: password hashing runs at a lower"
    echo "priority and within a time budget (\`directory-server/src/auth.rs\`), and a request that"
    echo "waits 5 s for a hashing thread is answered 503 with \`Retry-After\` (the errors of the"
    echo "storm's row); so every registration is answered within about 5 s plus one hash."
    echo
    echo "## SQLite"
    echo
    table sqlite
    echo
    goals sqlite
    echo
    echo "## PostgreSQL"
    echo
    table postgres
    echo
    goals postgres
} >"$out"
echo "--- wrote $out"
cat "$out"
