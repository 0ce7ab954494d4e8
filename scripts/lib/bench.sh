# Helpers shared by scripts/bench, scripts/bench-api and scripts/bench-core;
# sourced, not run.

# median < numbers, one per line: the median (the mean of the middle two
# for an even count).
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
# field NAME < json-line: the number in "NAME":<number> of a flat JSON line
# (our load generator's output).
field() { sed "s/.*\"$1\":\([0-9.]*\).*/\1/"; }
# med FILE NAME: the median of field NAME over the lines of FILE.
med() { field "$2" <"$1" | median; }

# free_port sets $port to a port below Linux's ephemeral range (32768+), so
# that no client socket of an earlier run holds it, and never hands one out
# twice in a script.
used_ports=" "
free_port() {
  local p
  while :; do
    p=$((10000 + RANDOM % 22000))
    case $used_ports in *" $p "*) continue ;; esac
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
    used_ports+="$p "
    port=$p
    return
  done
}
# wait_port PORT: waits up to 10 s for something to listen on PORT.
wait_port() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "$(basename "$0"): nothing listens on port $1" >&2
  return 1
}
