# A private nginx for the tests and the benchmarks (sourced by tests/integration/lib.sh and bench/lib.sh).

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
