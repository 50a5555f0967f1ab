# Shared by bench/run and bench/overload (sourced): the build, the generated organisation
# (once per scale, then reused), the served binary and a signed-in bench administrator.
# Expects scale, profile and work; sets bin, data, generated, base, server and cookie.

# Seconds since the epoch, with a fraction.
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

# wrk's latency ("812.00us", "1.20ms", "2.00s") in milliseconds.
ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }

# wrk's output (run with --latency) → "req/s p50 p99 non-2xx/3xx socket-errors", in ms.
wrk_figures() {
  local rps p50 p99 refused failed
  rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<< "$1")
  p50=$(ms "$(awk '$1 == "50%" { print $2 }' <<< "$1")")
  p99=$(ms "$(awk '$1 == "99%" { print $2 }' <<< "$1")")
  refused=$(awk '/Non-2xx or 3xx responses:/ { n += $5 } END { print n + 0 }' <<< "$1")
  failed=$(awk '/Socket errors:/ { gsub(",", ""); n += $4 + $6 + $8 + $10 } END { print n + 0 }' <<< "$1")
  echo "$rps $p50 $p99 $refused $failed"
}

build() {
  if [ "$profile" = release ]; then
    cargo build --release --locked --quiet
  else
    cargo build --locked --quiet
  fi
  bin=target/$profile/yardstick
}

# The organisation at $scale: generated into target/bench/<scale> (or DATABASE_URL's
# database) once, reused after.
generate() {
  data=(--data-dir "$work/data")
  generated="(reused)"
  if [ -n "${DATABASE_URL:-}" ] || [ -f "$work/generated" ]; then
    if [ -n "${DATABASE_URL:-}" ]; then
      t=$(now)
      if "$bin" demo --scale "$scale" > "$work/generate.log" 2>&1; then generated="$(since "$t") s"; fi
      grep -v "already holds an organisation" "$work/generate.log" || true
    fi
  else
    rm -rf "$work/data"
    t=$(now)
    "$bin" demo --scale "$scale" "${data[@]}"
    generated="$(since "$t") s"
    touch "$work/generated"
  fi
  echo "data: $scale, generated in $generated"
}

# Serves it (the environment's YARDSTICK_* settings apply), stops it on exit, and signs
# the bench administrator in.
serve_signed_in() {
  email=bench@acme.example
  password=bench-password-not-secret
  YARDSTICK_ADMIN_PASSWORD=$password "$bin" admin create --email "$email" --name "Bench Admin" "${data[@]}" >/dev/null

  port=$((20000 + RANDOM % 20000))
  base=http://127.0.0.1:$port
  YARDSTICK_REMINDERS_EVERY=0 RUST_LOG=warn "$bin" serve "${data[@]}" --bind "127.0.0.1:$port" > "$work/server.log" 2>&1 &
  server=$!
  trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
  for _ in $(seq 1 600); do
    curl -fs "$base/healthz" >/dev/null 2>&1 && break
    kill -0 $server 2>/dev/null || { cat "$work/server.log"; echo "the server stopped" >&2; exit 1; }
    sleep 0.1
  done

  jar=$work/cookies
  rm -f "$jar"
  code=$(curl -s -o /dev/null -w '%{http_code}' -c "$jar" --data-urlencode "email=$email" --data-urlencode "password=$password" "$base/login")
  [ "$code" = 303 ] || { echo "signing in answered $code" >&2; exit 1; }
  cookie=$(sed 's/^#HttpOnly_//' "$jar" | awk '!/^#/ && NF == 7 { printf "%s%s=%s", sep, $6, $7; sep = "; " }')
}
