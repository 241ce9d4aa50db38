# Local servers for the tests and the benchmarks: free ports, and a private nginx (sourced by
# tests/integration/lib.sh and bench/lib.sh).

# free_port: a port nobody listens on, below the kernel's ephemeral range so that no outgoing connection
# (a worker's, libcurl's) holds it by the time a server binds it. Callers still retry: another test run
# may take it between the check and the bind.
free_port() {
	local p lo=32768
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	[ "$lo" -gt 11000 ] || lo=32768
	for _ in $(seq 1 200); do
		p=$((10000 + RANDOM % (lo - 10000)))
		if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo "$p"; return 0; fi
	done
	return 1
}

# nginx_conf ROOT PORT DIR ACCESS_LOG: writes DIR/nginx.conf (foreground, temp files and pid under DIR) serving
# ROOT on 127.0.0.1:PORT; ACCESS_LOG is a file ("$msec $status $uri" per request) or "off".
nginx_conf() {
	local log="access_log off;"
	[ "$4" != off ] && log="log_format ts '\$msec \$status \$request_uri'; access_log $4 ts;"
	mkdir -p "$3/tmp"
	cat >"$3/nginx.conf" <<EOF
daemon off;
worker_processes 2;
pid $3/nginx.pid;
error_log $3/error.log warn;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  $log
  keepalive_requests 100000;
  client_body_temp_path $3/tmp/body;
  proxy_temp_path $3/tmp/proxy;
  fastcgi_temp_path $3/tmp/fastcgi;
  uwsgi_temp_path $3/tmp/uwsgi;
  scgi_temp_path $3/tmp/scgi;
  server {
    listen 127.0.0.1:$2;
    root $1;
    location ~ \\.md\$ { default_type text/markdown; }
  }
}
EOF
}

# wait_port PORT PID: waits up to 5 s for 127.0.0.1:PORT to accept; returns 1 when it does not, or PID died.
wait_port() {
	local _
	for _ in $(seq 1 50); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}
