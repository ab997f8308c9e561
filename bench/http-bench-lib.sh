# Shell pieces the HTTP benchmark scripts share: sourced, not run. The caller sets `tmp` (a
# scratch folder), `here` (bench/) and `seconds`, and keeps every PID it starts in `pids`.
# Servers are pinned to CPU 0, clients to CPU 1, everything on 127.0.0.1.

nginx_port=18081       # return 200 '{}'
nginx_busy_port=18082  # return 503

wait_port() {  # PORT
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "$(basename "$0"): nothing listens on port $1" >&2
  exit 1
}

start_nginx() {
  cat >"$tmp/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
worker_rlimit_nofile 65536;
events { worker_connections 20000; }
http {
  access_log off;
  # nginx closes a keep-alive connection after 1000 requests by default: wrk would then spend
  # part of each run reconnecting, and the reference would lose about a fifth of its rate.
  # No connection is closed by the server during a run.
  keepalive_requests 1000000000;
  keepalive_timeout 600s;
  # One port per answer, whatever the path: the wrk scripts send jobd's paths to both servers.
  server {
    listen 127.0.0.1:$nginx_port backlog=65535;
    location / { return 200 '{}'; }
  }
  server {
    listen 127.0.0.1:$nginx_busy_port backlog=65535;
    location / { return 503; }
  }
}
CONF
  port_free "$nginx_port"
  port_free "$nginx_busy_port"
  taskset -c 0 nginx -c "$tmp/nginx.conf" -p "$tmp" &
  nginx_pid=$!
  pids+=("$nginx_pid")
  wait_port "$nginx_port"
}

stop_nginx() {
  kill "$nginx_pid" 2>/dev/null || true
  wait "$nginx_pid" 2>/dev/null || true
}

# Stops the run when something listens on PORT already: a server left from an earlier run would
# answer in place of the one started, and the figures would be its.
port_free() {  # PORT
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "$(basename "$0"): port $1 is taken already (a server left running?)" >&2
    exit 1
  fi
}

start_jobd() {  # BINARY PORT extra flags...
  local binary=$1 port=$2
  shift 2
  port_free "$port"
  taskset -c 0 "$binary" --listen "127.0.0.1:$port" --access-log false --log-level warn "$@" \
    2>"$tmp/jobd.log" &
  jobd_pid=$!
  pids+=("$jobd_pid")
  wait_port "$port"
}

stop_jobd() {
  kill "$jobd_pid" 2>/dev/null || true
  wait "$jobd_pid" 2>/dev/null || true
}

# wrk_run CONNECTIONS URL SCRIPT [ENV...] -> the summary JSON on stdout
wrk_run() {
  local conns=$1 url=$2 script=$3
  shift 3
  env "$@" taskset -c 1 wrk -t1 -c"$conns" -d"${seconds}s" --timeout 10s -s "$script" "$url" 2>/dev/null |
    grep -E '^WRK_' | tail -1 | cut -d' ' -f2-
}

# The report's table: a row per figure, echoed as it is measured. The caller sets rows=().
row() { rows+=("| $1 | $2 | $3 | $4 |"); echo "  $1: $2 ($3; met: $4)"; }
met() { python3 -c "print('yes' if $1 else 'no')"; }

field() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval("d"+sys.argv[2]))' "$1" "$2"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# Stops the run when a reference answered with anything but STATUS: a ratio against the wrong
# answer means nothing.
expect_only() {  # STATUS SUMMARY_JSON
  if ! python3 -c 'import json,sys; s=json.loads(sys.argv[2])["status"]; sys.exit(0 if s and set(s) == {sys.argv[1]} else 1)' "$1" "$2"; then
    echo "$(basename "$0"): the reference answered $(field "$2" '["status"]'), not only $1" >&2
    exit 1
  fi
}
