#!/usr/bin/env bash
# gen-demo-traffic.sh - make trafficgpt's shipped demo traffic (testdata/demo).
#
# Real Debian servers and clients talk over a private virtual network that
# this script builds and removes again, and tcpdump captures one pcap per
# class at the server:
#
#   netns tgd-srv-PID: bridge tgdbPID 10.99.0.1/24 (all servers, tcpdump)
#     |- veth -- netns tgd-c1-PID: 10.99.0.2 (client A, ~60% of flows)
#     '- veth -- netns tgd-c2-PID: 10.99.0.3 (client B, ~40% of flows)
#
# MTU 1500 and every offload off (TSO, GSO, GRO, checksums), so captured
# frames look like wire frames: <= 1514 bytes, real IP/TCP/UDP checksums.
# Nothing is routed out of the namespaces. Request sizes, paths, keys,
# topics, client choice and think times come from bash's RANDOM seeded with
# -s; keys, TLS/SSH secrets, ports and timings are whatever the real
# programs choose, so two runs give different bytes but the same mix.
#
# usage: sudo scripts/gen-demo-traffic.sh [-o DIR] [-n FLOWS] [-s SEED] [-c "CLASS ..."]
#   -o DIR     output folder (default: testdata/demo of this repository); existing <class>.pcap are replaced
#   -n FLOWS   client sessions per class (default 100)
#   -s SEED    seed for sizes, names and timing (default 1)
#   -c CLASSES classes to make (default "dns http https mqtt redis ssh")
# output: DIR/<class>.pcap, DIR/labels.csv (file,class,flows,packets,bytes,seconds)
#         for every DIR/*.pcap, DIR/README.md.
#
# Needs root (namespaces, tcpdump) and, on Debian 12:
#   apt-get install -y --no-install-recommends iproute2 ethtool tcpdump tshark \
#     openssl curl nginx-light dnsmasq-base dnsutils mosquitto mosquitto-clients \
#     redis-server redis-tools openssh-server openssh-client
# Every server and capture started here is stopped by PID on exit (trap), and
# the namespaces and the work folder are removed.

# The arrays of choices are read through choose()'s nameref, which shellcheck does not follow.
# shellcheck disable=SC2034
set -euo pipefail

OUT=$(dirname "$0")/../testdata/demo
OUT_ARG=""
N=100
SEED=1
CLASSES="dns http https mqtt redis ssh"
ARGS="$*"
usage() { sed -n '/^# usage:/,/^#  *for every/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts "o:n:s:c:h" opt; do
  case $opt in
    o) OUT=$OPTARG; OUT_ARG=$OPTARG ;;
    n) N=$OPTARG ;;
    s) SEED=$OPTARG ;;
    c) CLASSES=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || usage
[[ $N =~ ^[0-9]+$ && $N -gt 0 ]] || { echo "-n: want a positive number of flows, got '$N'" >&2; exit 2; }
[[ $SEED =~ ^[0-9]+$ ]] || { echo "-s: want a non-negative integer seed, got '$SEED'" >&2; exit 2; }
for c in $CLASSES; do
  case $c in dns|http|https|mqtt|redis|ssh) ;; *) echo "unknown class '$c' (want dns http https mqtt redis ssh)" >&2; exit 2 ;; esac
done
[ "$(id -u)" = 0 ] || { echo "run as root: network namespaces and tcpdump need it (sudo $0 $ARGS)" >&2; exit 1; }

# ------------------------------------------------------------ prerequisites
# command -> Debian package; only the classes asked for are checked.
need() {  # need CMD PACKAGE
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [[ "$MISSING " == *" $2 "* ]] || MISSING+=" $2"
}
MISSING=""
need ip iproute2; need ethtool ethtool; need tcpdump tcpdump; need tshark tshark; need openssl openssl
for c in $CLASSES; do
  case $c in
    dns) need dnsmasq dnsmasq-base; need dig dnsutils ;;
    http|https) need nginx nginx-light; need curl curl ;;
    mqtt) need mosquitto mosquitto; need mosquitto_pub mosquitto-clients; need mosquitto_sub mosquitto-clients ;;
    redis) need redis-server redis-server; need redis-cli redis-tools; need redis-benchmark redis-tools ;;
    ssh) need sshd openssh-server; need ssh openssh-client; need ssh-keygen openssh-client ;;
  esac
done
if [ -n "$MISSING" ]; then
  echo "missing packages:$MISSING" >&2
  echo "install them with: apt-get install -y --no-install-recommends$MISSING" >&2
  exit 1
fi

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
# Namespaces left by an earlier run of this script that was killed outright
# (its PID is gone): remove them, nothing else.
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^tgd-(srv|c1|c2)-[0-9]+$' || true); do
  kill -0 "${ns##*-}" 2>/dev/null || ip netns del "$ns" 2>/dev/null || true
done
WORK=$(mktemp -d /tmp/gen-demo-traffic.XXXXXX)
chmod 755 "$WORK"   # nginx workers run as www-data and read the site from here
RANDOM=$SEED

# ------------------------------------------------------------ network
SRV=10.99.0.1
CLI_IP=(10.99.0.2 10.99.0.3)
NS_S=tgd-srv-$$
NS_C=(tgd-c1-$$ tgd-c2-$$)
BR=tgdb$$
PIDS=()       # everything started in the background, stopped one by one in cleanup
CAP_PID=""

cleanup() {
  set +e
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    local alive=0
    for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.2
  done
  for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null; done
  wait 2>/dev/null
  ip netns del "$NS_S" 2>/dev/null
  ip netns del "${NS_C[0]}" 2>/dev/null
  ip netns del "${NS_C[1]}" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_srv() { ip netns exec "$NS_S" "$@"; }

offloads_off() {  # offloads_off NS DEV
  ip netns exec "$1" ethtool -K "$2" tso off gso off gro off tx off rx off sg off >/dev/null 2>&1 || true
}

setup_net() {
  ip netns add "$NS_S"
  in_srv ip link add "$BR" type bridge
  in_srv ip link set "$BR" address 02:00:0a:63:00:01 mtu 1500
  in_srv ip addr add "$SRV/24" dev "$BR"
  local i
  for i in 0 1; do
    local ns=${NS_C[$i]} port=tgds$i-$$ dev=tgdc$i-$$
    ip netns add "$ns"
    ip link add "$port" type veth peer name "$dev"
    ip link set "$port" netns "$NS_S"
    ip link set "$dev" netns "$ns"
    in_srv ip link set "$port" master "$BR" mtu 1500 up
    ip netns exec "$ns" ip link set "$dev" address "02:00:0a:63:00:0$((i + 2))" mtu 1500 up
    ip netns exec "$ns" ip addr add "${CLI_IP[$i]}/24" dev "$dev"
    ip netns exec "$ns" ip link set lo up
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
    offloads_off "$NS_S" "$port"
    offloads_off "$ns" "$dev"
  done
  in_srv ip link set lo up
  in_srv sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  in_srv ip link set "$BR" up
  offloads_off "$NS_S" "$BR"
}

# Background programs are started by a plain command (not a function, whose
# subshell would hold the trap and outlive a kill), so $! is the program.
bg_srv() { ip netns exec "$NS_S" "$@" >>"$WORK/servers.log" 2>&1 & PIDS+=("$!"); }

wait_port() {  # wait_port PORT: until something listens on it in the server namespace
  local _
  for _ in $(seq 1 100); do
    in_srv ss -lntu 2>/dev/null | grep -q "$SRV:$1 " && return 0
    sleep 0.1
  done
  echo "server on port $1 did not come up; its log:" >&2
  tail -20 "$WORK/servers.log" >&2
  return 1
}

# ------------------------------------------------------------ randomness
# All choices come from the parent shell's RANDOM (never inside $(...), whose
# subshell would draw from a copy), so one seed gives one sequence of choices.
pick() { R=$((RANDOM % $1)); }                       # R in [0, $1)
choose() { local -n _a=$1; R=${_a[$((RANDOM % ${#_a[@]}))]}; }
client() {  # sets C (0 or 1) and CIP: client A about 60% of flows
  if [ $((RANDOM % 10)) -lt 6 ]; then C=0; else C=1; fi
  CIP=${CLI_IP[$C]}
}
in_cli() { ip netns exec "${NS_C[$C]}" "$@"; }
think() {  # 20-300 ms between sessions
  local ms=$((RANDOM % 280 + 20)) s
  printf -v s '0.%03d' "$ms"
  sleep "$s"
}
# $WORK/rand.bin: 1 MiB of seeded pseudo-random bytes; slice OFF LEN gives
# payloads that depend on the seed only.
make_rand() {
  { openssl enc -aes-128-ctr -nosalt -pbkdf2 -pass "pass:gen-demo-traffic-$SEED" </dev/zero 2>/dev/null |
    head -c 1048576 >"$WORK/rand.bin"; } || true   # openssl ends by SIGPIPE
  [ "$(stat -c %s "$WORK/rand.bin")" = 1048576 ] || { echo "openssl enc made no random stream" >&2; exit 1; }
}
# The producers of these pipelines may end by SIGPIPE once head has enough.
slice() { { tail -c +"$(($1 % 1000000 + 1))" "$WORK/rand.bin" | head -c "$2"; } || true; }   # slice OFF LEN
text() { { slice "$1" "$2" | base64 -w0 | head -c "$2"; } || true; }                         # text OFF LEN (printable)

# ------------------------------------------------------------ capture
# A capture is written in the work folder and moved to OUT when complete, so an
# interrupted run leaves no partial capture behind.
cap_start() {  # cap_start CLASS BPF
  ip netns exec "$NS_S" tcpdump -i "$BR" -s 0 -U -Z root -w "$WORK/$1.pcap" "$2" >"$WORK/tcpdump-$1.log" 2>&1 &
  CAP_PID=$!
  PIDS+=("$CAP_PID")
  local _
  for _ in $(seq 1 100); do grep -q listening "$WORK/tcpdump-$1.log" 2>/dev/null && return 0; sleep 0.1; done
  echo "tcpdump did not start:" >&2; cat "$WORK/tcpdump-$1.log" >&2; return 1
}
cap_stop() {  # let closing handshakes finish, then stop tcpdump cleanly
  sleep 1
  kill -INT "$CAP_PID" 2>/dev/null || true
  wait "$CAP_PID" 2>/dev/null || true
  mv -f "$WORK/$CLASS.pcap" "$OUT/$CLASS.pcap"
  grep -E 'packets (captured|dropped by kernel)' "$WORK/tcpdump-$CLASS.log" | tr '\n' ' ' | sed 's/^/  tcpdump: /' >&2
  echo >&2
}
FAILS=0
run() { "$@" || FAILS=$((FAILS + 1)); }   # a failed client session is counted, not fatal

# ------------------------------------------------------------ dns
# dnsmasq answers for demo.test from a hosts file and a few records; dig asks
# A, AAAA (no data), MX, TXT, SRV, CNAME, PTR and names that do not exist,
# about one in five over TCP, with and without EDNS.
gen_dns() {
  local i
  for i in $(seq 10 89); do echo "10.99.1.$i host$i.demo.test"; done >"$WORK/hosts"
  bg_srv dnsmasq -k --no-resolv --no-hosts --addn-hosts="$WORK/hosts" --listen-address="$SRV" \
    --bind-interfaces --port 53 --local=/demo.test/ --domain=demo.test --user=root \
    --pid-file="$WORK/dnsmasq.pid" --log-facility="$WORK/dnsmasq.log" \
    --txt-record=demo.test,"v=demo1 made by gen-demo-traffic" --txt-record=info.demo.test,"trafficgpt demo traffic" \
    --mx-host=demo.test,host10.demo.test,10 --mx-host=demo.test,host11.demo.test,20 \
    --srv-host=_mqtt._tcp.demo.test,host12.demo.test,1883 --srv-host=_http._tcp.demo.test,host13.demo.test,80 \
    --cname=www.demo.test,host14.demo.test --cname=api.demo.test,host15.demo.test
  wait_port 53
  cap_start dns "port 53"
  local types=(A A A A AAAA MX TXT SRV CNAME PTR NX)
  local edns=(+edns +edns +noedns +bufsize=1232 +nsid +cookie)
  for i in $(seq 1 "$N"); do
    client; choose types; local t=$R name
    case $t in
      A|AAAA) pick 80; name=host$((R + 10)).demo.test ;;
      MX) name=demo.test ;;
      TXT) pick 2; [ $R = 0 ] && name=demo.test || name=info.demo.test ;;
      SRV) pick 2; [ $R = 0 ] && name=_mqtt._tcp.demo.test || name=_http._tcp.demo.test ;;
      CNAME) pick 2; [ $R = 0 ] && name=www.demo.test || name=api.demo.test; t=A ;;
      PTR) pick 80; name=$((R + 10)).1.99.10.in-addr.arpa ;;
      NX) pick 10000; name=missing$R.demo.test; t=A ;;
    esac
    choose edns; local e=$R proto=+notcp
    pick 5; [ $R = 0 ] && proto=+tcp
    run in_cli dig -b "$CIP" @"$SRV" "$proto" "$e" +tries=1 +time=2 "$name" "$t" >/dev/null
    think
  done
  cap_stop
}

# ------------------------------------------------------------ web (http, https)
# nginx serves a small site: html pages, css/js, json api answers, binary
# media and downloads from 100 B to 24 KB (random bytes: named .bin, since a
# .png that is not a PNG makes Wireshark report malformed packets), gzip for text; one curl run is one
# connection with 1-3 requests (GET, HEAD, a POST, sometimes a 404).
make_site() {
  [ -f "$WORK/nginx.conf" ] && return 0
  mkdir -p "$WORK/www/static" "$WORK/www/api" "$WORK/www/media" "$WORK/www/dl" "$WORK/tmp"
  local sizes=(100 250 600 1200 2500 5000 10000 24000) i off=0
  SITE=()
  for i in $(seq 1 12); do
    choose sizes
    { echo "<!doctype html><html><head><title>page $i</title><link rel=stylesheet href=/static/site.css></head><body><h1>Page $i</h1><p>"
      text "$off" "$R"; echo "</p></body></html>"; } >"$WORK/www/page$i.html"
    off=$((off + R)); SITE+=("/page$i.html")
  done
  cp "$WORK/www/page1.html" "$WORK/www/index.html"; SITE+=("/" "/index.html")
  text "$off" 3000 | fold -w 60 | sed 's/^/.c{x:/; s/$/}/' >"$WORK/www/static/site.css"; off=$((off + 3000))
  text "$off" 9000 | fold -w 80 | sed 's/^/var v="/; s/$/";/' >"$WORK/www/static/app.js"; off=$((off + 9000))
  SITE+=("/static/site.css" "/static/app.js")
  for i in $(seq 1 20); do
    pick 3000
    printf '{"id":%d,"name":"item-%d","value":"%s"}\n' "$i" "$i" "$(text "$off" $((R + 20)))" >"$WORK/www/api/item$i.json"
    off=$((off + R + 20)); SITE+=("/api/item$i.json")
  done
  for i in $(seq 1 8); do
    choose sizes; slice "$off" "$R" >"$WORK/www/media/clip$i.bin"; off=$((off + R)); SITE+=("/media/clip$i.bin")
  done
  for i in 1 2 3; do
    choose sizes; slice "$off" "$R" >"$WORK/www/dl/file$i.bin"; off=$((off + R)); SITE+=("/dl/file$i.bin")
  done
  SITE+=("/missing.html" "/api/none.json")
  chmod -R a+rX "$WORK/www"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
    -subj "/CN=www.demo.test" -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
    -subj "/CN=www.demo.test" -keyout "$WORK/rsakey.pem" -out "$WORK/rsacert.pem" >/dev/null 2>&1
  cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log;
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  keepalive_timeout 5;
  client_body_temp_path $WORK/tmp;
  gzip on; gzip_min_length 500; gzip_types text/css application/javascript application/json;
  server {
    listen $SRV:80;
    listen $SRV:443 ssl http2;
    server_name www.demo.test;
    root $WORK/www;
    ssl_certificate $WORK/cert.pem;        ssl_certificate_key $WORK/key.pem;
    ssl_certificate $WORK/rsacert.pem;     ssl_certificate_key $WORK/rsakey.pem;
    ssl_protocols TLSv1.2 TLSv1.3;
    location = /api/submit { return 201 '{"ok":true}\n'; }
  }
}
EOF
  bg_srv nginx -p "$WORK" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf"
  wait_port 80
  wait_port 443
}

gen_web() {  # gen_web http|https
  local scheme=$1 port=80
  [ "$scheme" = https ] && port=443
  make_site
  cap_start "$scheme" "tcp port $port"
  local uas=("curl/7.88.1" "Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0"
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
    "Wget/1.21.3" "python-requests/2.28.1")
  local i k
  for i in $(seq 1 "$N"); do
    client
    local args=(-s --interface "$CIP" --max-time 10) urls=()
    choose uas; args+=(-A "$R")
    pick 3; [ $R = 0 ] && args+=(--compressed)
    if [ "$scheme" = https ]; then
      args+=(-k)
      pick 4
      case $R in
        0) args+=(--tls-max 1.2) ;;
        1) args+=(--http1.1) ;;
        *) ;;   # TLS 1.3, HTTP/2 by ALPN
      esac
      pick 4; [ $R = 0 ] && args+=(--tls-max 1.2 --ciphers ECDHE-RSA-AES128-GCM-SHA256)
    fi
    pick 10
    if [ $R = 0 ]; then          # a form post
      pick 2000; local body; body=$(text $((i * 97)) $((R + 10)))
      args+=(-d "name=item$i&text=$body")
      urls+=("$scheme://$SRV/api/submit")
    else
      pick 10; local n=1
      [ $R -ge 6 ] && n=2
      [ $R -ge 9 ] && n=3
      pick 8; [ $R = 0 ] && args+=(-I)
      for k in $(seq 1 $n); do choose SITE; urls+=("$scheme://$SRV$R"); done
    fi
    run in_cli curl "${args[@]}" "${urls[@]}" >/dev/null
    think
  done
  cap_stop
}

# ------------------------------------------------------------ mqtt
# mosquitto (no auth); sessions: a sensor publishing 1-5 readings in one
# connection (QoS 0/1/2, MQTT 3.1.1 or 5), a retained status message, a
# subscriber that waits for a few messages while another client publishes
# them, and a subscriber that reads the retained messages and leaves.
gen_mqtt() {
  printf 'listener 1883 %s\nallow_anonymous true\npersistence false\nlog_dest file %s\n' "$SRV" "$WORK/mosquitto.log" >"$WORK/mosquitto.conf"
  bg_srv mosquitto -c "$WORK/mosquitto.conf"
  wait_port 1883
  cap_start mqtt "tcp port 1883"
  local rooms=(kitchen hall office lab garage attic) kinds=(temp humidity co2 light) vers=(mqttv311 mqttv311 mqttv5)
  local i j
  for i in $(seq 1 "$N"); do
    client
    choose rooms; local room=$R
    choose kinds; local kind=$R
    choose vers; local ver=$R
    pick 3; local qos=$R
    local topic=home/$room/$kind
    pick 10
    if [ $R -lt 5 ]; then        # sensor: 1-5 readings in one connection
      pick 5; local n=$((R + 1)) lines=""
      for j in $(seq 1 $n); do pick 400; lines+="{\"room\":\"$room\",\"$kind\":$((R / 10)).$((R % 10)),\"seq\":$j}"$'\n'; done
      run in_cli mosquitto_pub -h "$SRV" -V "$ver" -q "$qos" -t "$topic" -l <<<"${lines%$'\n'}"
    elif [ $R -lt 7 ]; then      # retained status, sometimes with a larger blob
      pick 600; local msg; msg=$(text $((i * 131)) $((R + 5)))
      run in_cli mosquitto_pub -h "$SRV" -V "$ver" -q "$qos" -r -t "status/$room" -m "$msg"
    elif [ $R -lt 9 ]; then      # subscriber waits for k messages from another client
      pick 3; local k=$((R + 1))
      ip netns exec "${NS_C[$C]}" mosquitto_sub -h "$SRV" -V "$ver" -q "$qos" -t "home/$room/#" -C "$k" -W 5 >/dev/null 2>&1 &
      local sp=$!
      sleep 0.3
      local c0=$C; C=$((1 - C))
      for j in $(seq 1 $k); do
        pick 400; run in_cli mosquitto_pub -h "$SRV" -q "$qos" -t "$topic" -m "{\"$kind\":$((R / 10)).$((R % 10))}"
      done
      C=$c0
      wait "$sp" || FAILS=$((FAILS + 1))
    else                         # read retained status messages, leave after 1 s
      in_cli mosquitto_sub -h "$SRV" -V "$ver" -t 'status/#' --retained-only -W 1 >/dev/null 2>&1 || true   # the timeout exits non-zero
    fi
    think
  done
  cap_stop
}

# ------------------------------------------------------------ redis
# redis-server (no persistence). Sessions: redis-cli with one command on one
# connection (strings with TTLs, counters, lists, hashes, sets, sorted sets,
# values 1-400 bytes), sometimes repeated 2-5 times on that connection
# (-r/-i), and a few short redis-benchmark runs (one client, 3-20 requests).
# redis-cli is never run without a command: its interactive mode first
# fetches COMMAND DOCS (~180 KB) on every connection.
gen_redis() {
  bg_srv redis-server --bind "$SRV" --port 6379 --save "" --appendonly no --protected-mode no \
    --dir "$WORK" --logfile "$WORK/redis.log"
  wait_port 6379
  cap_start redis "tcp port 6379"
  local tests=(set get incr lpush rpush sadd hset ping_mbulk)
  local i off=0
  for i in $(seq 1 "$N"); do
    client
    pick 50; local key=$R
    pick 400; local len=$((R + 1)) val cmd
    val=$(text "$off" "$len"); off=$(((off + len) % 900000))
    pick 16
    case $R in
      0|1) cmd=(SET "user:$key:name" "$val") ;;
      2) pick 600; cmd=(SET "session:$key" "$val" EX $((R + 60))) ;;
      3|4) cmd=(GET "user:$key:name") ;;
      5) cmd=(INCR "counter:$key") ;;
      6) cmd=(LPUSH "queue:$((key % 5))" "$val") ;;
      7) pick 20; cmd=(LRANGE "queue:$((key % 5))" 0 "$R") ;;
      8) cmd=(HSET "item:$key" name "item$key" price $((key * 7 % 100)) note "$val") ;;
      9) cmd=(HGETALL "item:$key") ;;
      10) cmd=(SADD "tags:$((key % 7))" "t$key" "t$((key + 1))") ;;
      11) pick 1000; cmd=(ZADD scores "$R" "player$key") ;;
      12) cmd=(ZRANGE scores 0 9 WITHSCORES) ;;
      13) cmd=(MGET "user:$key:name" "user:$(((key + 1) % 50)):name" "counter:$key") ;;
      14) cmd=(PING) ;;
      15) cmd=(TTL "session:$key") ;;
    esac
    pick 20
    if [ $R -lt 2 ]; then
      choose tests; local t=$R
      pick 18; local n=$((R + 3))
      pick 300; run in_cli redis-benchmark -h "$SRV" -q -c 1 -n "$n" -d $((R + 3)) -r 100 -t "$t" >/dev/null 2>&1
    elif [ $R -lt 5 ]; then
      pick 4; local k=$((R + 2))
      pick 9; run in_cli redis-cli -h "$SRV" -r "$k" -i "0.0$((R + 1))" "${cmd[@]}" >/dev/null
    else
      run in_cli redis-cli -h "$SRV" "${cmd[@]}" >/dev/null
    fi
    think
  done
  cap_stop
}

# ------------------------------------------------------------ ssh
# sshd with host keys made at run time; the client logs in with a key made at
# run time and runs one short command (directory listings, system info, a
# few KB of output or of upload), sometimes with a chosen cipher (no AES-GCM:
# Wireshark 4.0 decrypts it with no keys and reports malformed packets), host
# key or key exchange. sshd offers curve25519, ECDH P-256 and DH group 14 but not
# OpenSSH 9.2's default sntrup761x25519, which Wireshark 4.0 cannot parse (it
# reports every such handshake as malformed).
gen_ssh() {
  mkdir -p "$WORK/ssh" /run/sshd
  ssh-keygen -q -t ed25519 -N "" -f "$WORK/ssh/host_ed25519"
  ssh-keygen -q -t ecdsa -N "" -f "$WORK/ssh/host_ecdsa"
  ssh-keygen -q -t ed25519 -N "" -f "$WORK/ssh/id"
  cp "$WORK/ssh/id.pub" "$WORK/ssh/authorized_keys"
  chmod 600 "$WORK/ssh/authorized_keys"
  cat >"$WORK/sshd_config" <<EOF
ListenAddress $SRV:22
HostKey $WORK/ssh/host_ed25519
HostKey $WORK/ssh/host_ecdsa
AuthorizedKeysFile $WORK/ssh/authorized_keys
PidFile $WORK/sshd.pid
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
PrintMotd no
LogLevel ERROR
Subsystem sftp internal-sftp
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,diffie-hellman-group14-sha256
EOF
  bg_srv /usr/sbin/sshd -D -e -f "$WORK/sshd_config"
  wait_port 22
  local sshopts=(-i "$WORK/ssh/id" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
    -o BatchMode=yes -o LogLevel=ERROR -o ConnectTimeout=5)
  local ciphers=(default default default chacha20-poly1305@openssh.com aes128-ctr aes256-ctr)
  local hostkeys=(default default ssh-ed25519 ecdsa-sha2-nistp256)
  local kexes=(default default default ecdh-sha2-nistp256 diffie-hellman-group14-sha256)
  local i
  cap_start ssh "tcp port 22"
  for i in $(seq 1 "$N"); do
    client
    local args=("${sshopts[@]}" -o BindAddress="$CIP")
    choose ciphers; [ "$R" != default ] && args+=(-c "$R")
    choose hostkeys; [ "$R" != default ] && args+=(-o HostKeyAlgorithms="$R")
    choose kexes; [ "$R" != default ] && args+=(-o KexAlgorithms="$R")
    pick 9
    case $R in
      0) run in_cli ssh "${args[@]}" root@"$SRV" "uname -a" >/dev/null ;;
      1) pick 40; run in_cli ssh "${args[@]}" root@"$SRV" "ls -l /etc | head -$((R + 2))" >/dev/null ;;
      2) run in_cli ssh "${args[@]}" root@"$SRV" "cat /proc/loadavg; uptime; id" >/dev/null ;;
      3) run in_cli ssh "${args[@]}" root@"$SRV" "df -h; free -m" >/dev/null ;;
      4) pick 12000; run in_cli ssh "${args[@]}" root@"$SRV" "head -c $((R + 200)) /dev/urandom | base64" >/dev/null ;;
      5) pick 12000; local len=$((R + 100))
         slice $((i * 1000)) "$len" | in_cli ssh "${args[@]}" root@"$SRV" "cat > $WORK/upload-$i.bin && wc -c $WORK/upload-$i.bin" >/dev/null ||
           FAILS=$((FAILS + 1)) ;;
      6) run in_cli ssh "${args[@]}" root@"$SRV" "ps -e | wc -l; date" >/dev/null ;;
      7) run in_cli ssh "${args[@]}" root@"$SRV" "true" >/dev/null ;;
      8) pick 12000; slice $((i * 1000)) $((R + 100)) >"$WORK/send.bin"
         run in_cli scp -q "${args[@]}" "$WORK/send.bin" root@"$SRV":"$WORK/scp-$i.bin" ;;
    esac
    think
  done
  cap_stop
}

# ------------------------------------------------------------ labels, README
# flows: TCP and UDP conversations as tshark numbers them (tcp.stream,
# udp.stream); packets: records; bytes: the file's size; seconds: first to
# last packet.
label_row() {  # label_row FILE
  local f=$1 b flows packets secs
  b=$(basename "$f" .pcap)
  flows=$(tshark -r "$f" -T fields -e tcp.stream -e udp.stream 2>/dev/null | sort -u | grep -c . || true)
  packets=$(tcpdump -nr "$f" 2>/dev/null | wc -l)
  secs=$(tshark -r "$f" -T fields -e frame.time_epoch 2>/dev/null | awk 'NR==1{a=$1} {z=$1} END{printf "%.1f", z-a}')
  echo "$b.pcap,$b,$flows,$packets,$(stat -c %s "$f"),$secs"
}

# expert_errors FILE: how many problems of severity error tshark's expert
# system reports (malformed packets, bad checksums, ...).
expert_errors() {
  tshark -r "$1" -q -z expert -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE 2>/dev/null |
    awk '/^Errors \(/ {gsub(/[()]/, "", $2); n += $2} END {print n + 0}'
}

write_readme() {
  local total versions
  total=$(cat "$OUT"/*.pcap | wc -c)
  versions=$(dpkg-query -W -f='| ${Package} | ${Version} |\n' iproute2 ethtool tcpdump openssl curl nginx-light \
    dnsmasq-base bind9-dnsutils mosquitto mosquitto-clients redis-server redis-tools openssh-server openssh-client 2>/dev/null || true)
  cat >"$OUT/README.md" <<EOF
# Demo traffic

Real network traffic that trafficgpt makes itself, one capture per class, for \`trafficgpt demo\`, the README's
examples and tests. Made by \`scripts/gen-demo-traffic.sh\` (in this repository): real Debian servers and clients
talk over a private virtual network that the script creates in Linux network namespaces, and tcpdump captures
the traffic at the server. Nothing was copied from elsewhere.

Made on $(date -u +%Y-%m-%d) (UTC) on $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r), with:

    sudo scripts/gen-demo-traffic.sh $ARGS

(effective settings: \`-o ${OUT_ARG:-testdata/demo} -n $N -s $SEED -c "$CLASSES"\`; load average $LOAD when it
started). Running it again gives captures with
the same mix of sessions, sizes and names (all drawn from the seed), but not the same bytes: TLS and SSH keys,
ephemeral ports, sequence numbers and timings are chosen by the kernel and the programs.

## Network

| host | namespace | address | MAC |
|---|---|---|---|
| server (every class; tcpdump runs here, on the bridge) | tgd-srv-PID | 10.99.0.1 | 02:00:0a:63:00:01 |
| client A (about 60% of sessions) | tgd-c1-PID | 10.99.0.2 | 02:00:0a:63:00:02 |
| client B (about 40% of sessions) | tgd-c2-PID | 10.99.0.3 | 02:00:0a:63:00:03 |

Each client namespace is joined to a bridge in the server namespace by a veth pair. MTU 1500, IPv6 off, and
TSO, GSO, GRO, scatter-gather and checksum offloads off on every interface, so frames are wire-like (at most
1514 bytes, real IPv4/TCP/UDP checksums). Link type Ethernet, microsecond timestamps, snap length 262144 (whole
frames). Each capture is filtered to its class's server port, so it holds that class only (no ARP).

Round trips are those of virtual links inside one machine (tens of microseconds), not of a real network, and
the servers' response times depend on how busy the machine was (load average above; sshd then takes up to
seconds to answer a key exchange); ports
and addresses are fixed per class. A classifier that looks at addresses, ports or absolute timing learns
nothing real from these files: mask addresses and ports (\`--mask addr+ports\`).

## Classes

| file | server | client sessions (one session is one flow, except where noted) |
|---|---|---|
| dns.pcap | dnsmasq, zone demo.test from a hosts file plus MX, TXT, SRV, CNAME records | \`dig\`: A, AAAA (no data), MX, TXT, SRV, CNAME, PTR and non-existent names; with and without EDNS, cookies, NSID; about one query in five over TCP |
| http.pcap | nginx on port 80: html pages, css/js, json, binary media and downloads (100 B to 24 KB, random bytes), gzip for text | \`curl\` with one of five user agents: 1-3 GETs on one connection, HEAD, a form POST, some 404s, some \`--compressed\` |
| https.pcap | the same nginx on 443 with self-signed ECDSA P-256 and RSA-2048 certificates made at run time | \`curl -k\` as for http; TLS 1.3 with HTTP/2 by ALPN, HTTP/1.1, TLS 1.2 (ECDHE-ECDSA or ECDHE-RSA) |
| mqtt.pcap | mosquitto on 1883, anonymous, no persistence | \`mosquitto_pub\`: a sensor sending 1-5 JSON readings on one connection, retained status messages (QoS 0/1/2, MQTT 3.1.1 or 5); \`mosquitto_sub\` waiting for 1-3 messages that the other client publishes (two flows at once), or reading the retained messages |
| redis.pcap | redis-server on 6379, no persistence | \`redis-cli\` with one command per connection: SET (with EX), GET, MGET, INCR, LPUSH/LRANGE, HSET/HGETALL, SADD, ZADD/ZRANGE, TTL, PING, values 1-400 bytes; some repeated 2-5 times on the connection (\`-r\`/\`-i\`); about one session in ten a short \`redis-benchmark\` run (one client, 3-20 requests of one kind) |
| ssh.pcap | OpenSSH sshd on 22, ed25519 and ECDSA host keys made at run time | \`ssh\` with a client key made at run time: one short command (uname, ls, df, ps, a few KB of base64 output, an upload of up to 12 KB), or \`scp\` of a small file; sometimes a chosen cipher (chacha20-poly1305 by default, aes128-ctr, aes256-ctr; not AES-GCM, whose packets Wireshark 4.0 tries to decrypt without keys and reports as malformed), host key type or key exchange (curve25519 by default, ECDH P-256, DH group 14; not OpenSSH 9.2's default sntrup761x25519, which Wireshark 4.0 reports as malformed) |

Sessions are spaced by 20-300 ms think times drawn from the seed. A session is one flow except for mqtt (a
waiting subscriber and the 1-3 publisher runs that feed it) and redis (redis-benchmark opens a second
connection), so those classes have more flows than sessions:

| file | flows | packets | bytes |
|---|---:|---:|---:|
$(awk -F, 'NR > 1 {printf "| %s | %s | %s | %s |\n", $1, $3, $4, $5}' "$OUT/labels.csv")

## labels.csv

One row per capture: \`file,class,flows,packets,bytes,seconds\`. \`flows\` counts TCP and UDP conversations as
tshark numbers them (\`tcp.stream\`, \`udp.stream\`); \`trafficgpt flows\` finds the same number with its default
flow rules (\`cmd/trafficgpt/demo_data_test.go\` checks this). \`packets\` is the number of records, \`bytes\` the
file's size, \`seconds\` the time from its first to its last packet. Total size: $total bytes.

## Checks

\`go run ./cmd/trafficgpt verify testdata/demo\` round-trips every file byte for byte
(\`cmd/trafficgpt/demo_data_test.go\` does the same in \`go test\`). When these files were made,
\`tshark -r FILE -q -z expert\` found $EXPERT_ERRORS errors (malformed packets, bad checksums) in all of them together. Its warnings are real
traffic (TCP resets at the end of TLS sessions, a D-SACK, a TCP checksum written as 0xffff rather than its
equivalent 0x0000) or its SSH dissector's limits ("Decoded 19 bytes, but packet length is 83 bytes" on
encrypted packets).

## Package versions

| package | version |
|---|---|
$versions

## Licence

Made for trafficgpt; same licence as the project. The payloads are synthetic: pseudo-random text and bytes from
the seed, and the programs' own protocol messages. No personal data.
EOF
}

# ------------------------------------------------------------ main
setup_net
make_rand
for CLASS in $CLASSES; do
  FAILS=0
  t0=$SECONDS
  echo "== $CLASS: $N sessions" >&2
  case $CLASS in
    dns) gen_dns ;;
    http|https) gen_web "$CLASS" ;;
    mqtt) gen_mqtt ;;
    redis) gen_redis ;;
    ssh) gen_ssh ;;
  esac
  echo "  $CLASS: $((SECONDS - t0)) s, $FAILS failed client runs" >&2
  [ "$FAILS" -le $((N / 10)) ] || echo "  warning: more than 10% of $CLASS sessions failed; see the servers' logs" >&2
done
{
  echo "file,class,flows,packets,bytes,seconds"
  for f in "$OUT"/*.pcap; do label_row "$f"; done
} >"$OUT/labels.csv"
EXPERT_ERRORS=0
for f in "$OUT"/*.pcap; do
  e=$(expert_errors "$f")
  [ "$e" = 0 ] || echo "warning: tshark reports $e errors in $f (tshark -r $f -q -z expert)" >&2
  EXPERT_ERRORS=$((EXPERT_ERRORS + e))
done
write_readme
cat "$OUT/labels.csv"
