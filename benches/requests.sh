#!/usr/bin/env bash
# Request-level comparisons: Tidewatch's GET /health, `{ __typename }`,
# `{ me { id } }` and the 100-case page on SQLite and PostgreSQL, against a
# minimal Apollo Server 4 (benches/peers/apollo) answering `me` and the same
# page from the same PostgreSQL rows. Prints each figure's requests per second
# (every round and the median) and the ratios the README's Performance section
# lists.
#
#   cargo build --release --bin tidewatch
#   benches/requests.sh
#
# Needs wrk, curl, jq, psql, node and npm. Settings (environment):
#   TIDEWATCH_BIN   the binary (default ${CARGO_TARGET_DIR:-target}/release/tidewatch)
#   PG_URL          PostgreSQL server; a fresh database is created and dropped
#                   (default postgres://postgres@127.0.0.1:5432)
#   ROUNDS          alternating rounds (3)       DURATION  wrk duration per figure (10s)
#   CONNECTIONS     wrk connections (32)         THREADS   wrk threads (1)
#   WARMUP          wrk duration of one warm-up pass over the figures (3s; 0 skips it)
#   BASE_PORT       first of the three loopback ports used (18430)
#   KEEP_LOGS       set to keep the servers' logs and data in the temp directory
set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$here")
bin=${TIDEWATCH_BIN:-${CARGO_TARGET_DIR:-$root/target}/release/tidewatch}
pg_url=${PG_URL:-postgres://postgres@127.0.0.1:5432}
rounds=${ROUNDS:-3}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-32}
threads=${THREADS:-1}
warmup=${WARMUP:-3s}
base_port=${BASE_PORT:-18430}
sqlite_port=$base_port
pg_port=$((base_port + 1))
apollo_port=$((base_port + 2))
peer_dir=$here/peers/apollo
lua=$here/wrk/request.lua

fail() {
  echo "requests.sh: $*" >&2
  exit 1
}

for tool in wrk curl jq psql node npm; do
  command -v "$tool" >/dev/null || fail "$tool is not installed"
done
[[ -x $bin ]] || fail "no binary at $bin (cargo build --release --bin tidewatch, or set TIDEWATCH_BIN)"
if [[ ! -d $peer_dir/node_modules ]]; then
  (cd "$peer_dir" && npm ci --no-audit --no-fund >/dev/null) || fail "npm ci in $peer_dir failed"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tidewatch-requests.XXXXXX")
database="tidewatch_requests_$$"
pids=()
database_created=

cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n $database_created ]]; then
    psql -q "$pg_url/postgres" -c "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null ||
      echo "requests.sh: could not drop database $database" >&2
  fi
  if [[ -n ${KEEP_LOGS:-} ]]; then
    echo "logs and data kept in $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Both servers sign and verify with this key; tokens live long enough for the run.
secret=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
export TIDEWATCH_JWT_SECRET=$secret

# wait_ready LOG CURL-ARGS…: waits (up to 60 s) until the request answers 200;
# LOG is shown when it does not.
wait_ready() {
  local log=$1 deadline=$((SECONDS + 60))
  shift
  until [[ $(curl -s -o /dev/null -w '%{http_code}' "$@" || true) == 200 ]]; do
    if ((SECONDS > deadline)); then
      tail -n 20 "$log" >&2
      fail "$* did not come up"
    fi
    sleep 0.2
  done
}

# start_tidewatch NAME PORT [DATABASE_URL]: serves a node with its own data directory.
start_tidewatch() {
  local name=$1 port=$2 url=${3:-}
  mkdir -p "$work/$name"
  (
    [[ -n $url ]] && export DATABASE_URL=$url
    export TIDEWATCH_BIND=127.0.0.1:$port TIDEWATCH_DATA_DIR=$work/$name \
      TIDEWATCH_ACCESS_TOKEN_TTL=86400
    exec "$bin" serve
  ) >"$work/$name.log" 2>&1 &
  pids+=($!)
  wait_ready "$work/$name.log" "http://127.0.0.1:$port/health"
}

# gql URL TOKEN BODY: one GraphQL call; prints the answer, fails unless it has data and no errors.
gql() {
  local url=$1 token=$2 body=$3 answer auth=()
  [[ -n $token ]] && auth=(-H "Authorization: Bearer $token")
  answer=$(curl -s "$url/graphql" -H 'content-type: application/json' "${auth[@]}" -d "$body")
  if ! jq -e '.data != null and .errors == null' >/dev/null 2>&1 <<<"$answer"; then
    fail "$url: $(head -c 400 <<<"$answer")"
  fi
  printf '%s' "$answer"
}

# register URL NAME: prints the new account's access token.
register() {
  local body
  body=$(jq -nc --arg name "$2" '{
    query: "mutation($input: RegisterInput!) { register(input: $input) { accessToken } }",
    variables: { input: { username: $name, email: ($name + "@example.com"), password: "bench password 1" } }
  }')
  gql "$1" "" "$body" | jq -r '.data.register.accessToken'
}

# seed URL: an admin (the first account), then a plain user who creates a project
# with 100 cases, so the page goes through the membership check. Prints
# "<token> <user id> <project id>".
seed() {
  local url=$1 token user project i body
  register "$url" bench_admin >/dev/null
  token=$(register "$url" bench_user)
  user=$(gql "$url" "$token" '{"query":"{ me { id } }"}' | jq -r '.data.me.id')
  project=$(gql "$url" "$token" \
    '{"query":"mutation { createProject(input: { name: \"Bench\", description: \"request benchmarks\" }) { project { id } } }"}' |
    jq -r '.data.createProject.project.id')
  for ((i = 0; i < 100; i++)); do
    body=$(jq -nc --arg p "$project" --argjson i "$i" '{
      query: "mutation($input: CreateCaseInput!) { createCase(input: $input) { case { id } } }",
      variables: { input: {
        projectId: $p, name: ("Case \($i)"), tags: ["bench", "tag\($i % 5)"], priority: ($i % 10),
        spec: { http: { request: { method: "GET", url: "http://127.0.0.1:9/cases/\($i)" },
                        assertions: [{ status: { oneOf: [200] } }] } }
      } }
    }')
    gql "$url" "$token" "$body" >/dev/null
  done
  echo "$token $user $project"
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start" >&2
echo "binary: $bin" >&2

start_tidewatch sqlite "$sqlite_port"
psql -q "$pg_url/postgres" -c "CREATE DATABASE $database" >/dev/null
database_created=1
start_tidewatch postgres "$pg_port" "$pg_url/$database"

seeded=$(seed "http://127.0.0.1:$sqlite_port")
read -r sqlite_token sqlite_user sqlite_project <<<"$seeded"
seeded=$(seed "http://127.0.0.1:$pg_port")
read -r pg_token pg_user pg_project <<<"$seeded"

(
  export NODE_ENV=production PORT=$apollo_port DATABASE_URL=$pg_url/$database
  exec node "$peer_dir/server.js"
) >"$work/apollo.log" 2>&1 &
pids+=($!)
wait_ready "$work/apollo.log" "http://127.0.0.1:$apollo_port/graphql" \
  -H 'content-type: application/json' -d '{"query":"{ __typename }"}'

me_body='{"query":"{ me { id } }"}'
typename_body='{"query":"{ __typename }"}'
page_body() {
  jq -nc --arg p "$1" '{
    query: "query($p: ID!) { cases(projectId: $p, first: 100) { nodes { id name kind tags priority createdBy { username } } } }",
    variables: { p: $p }
  }'
}

# Each figure: name, URL, method, body, token, and the jq test its answer must pass.
names=() urls=() methods=() bodies=() tokens=() checks=()
figure() {
  names+=("$1") urls+=("$2") methods+=("$3") bodies+=("$4") tokens+=("$5") checks+=("$6")
}
page_check='(.data.cases.nodes | length == 100) and all(.data.cases.nodes[]; .createdBy.username == "bench_user")'
sqlite=http://127.0.0.1:$sqlite_port
postgres=http://127.0.0.1:$pg_port
apollo=http://127.0.0.1:$apollo_port
figure health "$sqlite/health" GET "" "" ""
figure typename "$sqlite/graphql" POST "$typename_body" "" '.data.__typename == "Query"'
figure me_sqlite "$sqlite/graphql" POST "$me_body" "$sqlite_token" ".data.me.id == \"$sqlite_user\""
figure me_pg "$postgres/graphql" POST "$me_body" "$pg_token" ".data.me.id == \"$pg_user\""
figure page_sqlite "$sqlite/graphql" POST "$(page_body "$sqlite_project")" "$sqlite_token" "$page_check"
figure page_pg "$postgres/graphql" POST "$(page_body "$pg_project")" "$pg_token" "$page_check"
figure apollo_me "$apollo/graphql" POST "$me_body" "$pg_token" ".data.me.id == \"$pg_user\""
figure apollo_page "$apollo/graphql" POST "$(page_body "$pg_project")" "$pg_token" "$page_check"

# check I: one request of figure I with curl; fails unless it is a 200 with the expected data.
check() {
  local i=$1 answer code args=()
  [[ -n ${bodies[i]} ]] && args+=(-H 'content-type: application/json' -d "${bodies[i]}")
  [[ -n ${tokens[i]} ]] && args+=(-H "Authorization: Bearer ${tokens[i]}")
  answer=$(curl -s -w '\n%{http_code}' -X "${methods[i]}" "${urls[i]}" "${args[@]}")
  code=${answer##*$'\n'}
  answer=${answer%$'\n'*}
  [[ $code == 200 ]] || fail "${names[i]}: HTTP $code: $(head -c 400 <<<"$answer")"
  if [[ -n ${checks[i]} ]] &&
    ! jq -e ".errors == null and (${checks[i]})" >/dev/null 2>&1 <<<"$answer"; then
    fail "${names[i]}: unexpected answer: $(head -c 400 <<<"$answer")"
  fi
}

# measure I DURATION: runs wrk on figure I and prints its requests per second;
# fails when a response was not 2xx/3xx or a socket error happened.
measure() {
  local i=$1 out
  out=$(WRK_METHOD=${methods[i]} WRK_BODY=${bodies[i]} WRK_TOKEN=${tokens[i]} \
    wrk -t"$threads" -c"$connections" -d"$2" -s "$lua" "${urls[i]}")
  if grep -q 'Non-2xx or 3xx responses' <<<"$out"; then
    fail "${names[i]}: $(grep 'Non-2xx' <<<"$out")"
  fi
  if grep -q 'Socket errors' <<<"$out"; then
    echo "${names[i]}: $(grep 'Socket errors' <<<"$out" | sed 's/^ *//')" >&2
  fi
  awk '/^Requests\/sec:/ { print $2 }' <<<"$out"
}

for i in "${!names[@]}"; do
  check "$i"
done
if [[ $warmup != 0 ]]; then
  for i in "${!names[@]}"; do
    measure "$i" "$warmup" >/dev/null
  done
fi

declare -A results
for ((round = 1; round <= rounds; round++)); do
  for i in "${!names[@]}"; do
    rps=$(measure "$i" "$duration")
    check "$i" # still a success after the round (no expired or revoked token measured)
    results[${names[i]}]+="$rps "
    printf 'round %d  %-12s %10.0f req/s\n' "$round" "${names[i]}" "$rps" >&2
  done
done

median() {
  tr ' ' '\n' <<<"${results[$1]}" | grep -v '^$' | sort -g | awk '{ v[NR] = $1 }
    END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
declare -A med
echo
echo "wrk -t$threads -c$connections -d$duration, $rounds alternating rounds; load average $(cut -d' ' -f1-3 /proc/loadavg) at end"
printf '%-12s %10s   %s\n' figure median rounds
for name in "${names[@]}"; do
  med[$name]=$(median "$name")
  printf '%-12s %10.0f   %s\n' "$name" "${med[$name]}" "${results[$name]}"
done

ratio() {
  awk -v a="${med[$2]}" -v b="${med[$3]}" -v goal="$4" -v today="$5" -v row="$1" \
    'BEGIN { printf "| %s | %.3f | %s | %s |\n", row, a / b, today, goal }'
}
echo
echo "| ratio (medians) | measured | issue baseline | goal |"
echo "|---|---|---|---|"
ratio '`{ me { id } }` ÷ `GET /health` (SQLite node)' me_sqlite health '≥ 0.5' 0.135
ratio '`{ __typename }` ÷ `GET /health`' typename health '≥ 0.7' 0.61
ratio '`{ me { id } }` ÷ Apollo `me`' me_sqlite apollo_me '≥ 6' 2.1
ratio '`{ me { id } }` (PostgreSQL) ÷ Apollo `me`' me_pg apollo_me '≥ 6' —
ratio '100-case page ÷ `me` (SQLite)' page_sqlite me_sqlite '≥ 0.2' 0.057
ratio '100-case page ÷ `me` (PostgreSQL)' page_pg me_pg '≥ 0.2' 0.074
ratio 'page (PostgreSQL) ÷ Apollo + `pg` page' page_pg apollo_page '≥ 3' 1.03
