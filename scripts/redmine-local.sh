#!/usr/bin/env bash
# Debian's Redmine on 127.0.0.1 (sqlite), with the REST API on, a project, the alert_id
# custom field and an API key: a real ticket system to try OpsLink against.
#   scripts/redmine-local.sh install   # apt packages (root), about 100 MB
#   scripts/redmine-local.sh start     # start (port $REDMINE_PORT, default 3100) and set up
#   scripts/redmine-local.sh env       # print REDMINE_URL / REDMINE_API_KEY / REDMINE_FIELD_ID
#   scripts/redmine-local.sh stop
set -euo pipefail
PORT="${REDMINE_PORT:-3100}"
HOME_DIR=/usr/share/redmine
STATE="${REDMINE_STATE:-/tmp/opslink-redmine}"
mkdir -p "$STATE"

install() {
  if [ -d "$HOME_DIR" ] && [ -f "$HOME_DIR/Gemfile.local" ]; then echo "redmine already installed"; return; fi
  export DEBIAN_FRONTEND=noninteractive
  debconf-set-selections <<SEL
redmine redmine/instances/default/dbconfig-install boolean true
redmine redmine/instances/default/database-type select sqlite3
redmine redmine/instances/default/db/basepath string /var/lib/dbconfig-common/sqlite3/redmine/instances/default
redmine redmine/instances/default/db/dbname string redmine_default
SEL
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends redmine redmine-sqlite >/dev/null
  # The package ships no app server; WEBrick (already a dependency) is enough here.
  echo 'gem "webrick"' > "$HOME_DIR/Gemfile.local"
}

setup_ruby() {
  cat > "$STATE/setup.rb" <<'RUBY'
if IssueStatus.count == 0
  Redmine::DefaultData::Loader.load('en')
end
Setting.rest_api_enabled = '1'
project = Project.find_by_identifier('opslink') || Project.create!(name: 'OpsLink', identifier: 'opslink', is_public: true)
project.trackers = Tracker.all if project.trackers.empty?
project.enabled_module_names = (project.enabled_module_names | ['issue_tracking'])
project.save!
field = IssueCustomField.find_by_name('alert_id') || IssueCustomField.create!(
  name: 'alert_id', field_format: 'string', is_filter: true, is_for_all: true, searchable: true, tracker_ids: Tracker.pluck(:id))
admin = User.find_by_login('admin')
admin.update_column(:must_change_passwd, false)
puts "REDMINE_API_KEY=#{admin.api_key}"
puts "REDMINE_FIELD_ID=#{field.id}"
RUBY
}

start() {
  if [ -f "$STATE/server.pid" ] && kill -0 "$(cat "$STATE/server.pid")" 2>/dev/null; then
    echo "redmine already running on 127.0.0.1:$PORT"
  else
    rm -f "$STATE/server.pid"
    (cd "$HOME_DIR" && setsid nohup bin/rails server -b 127.0.0.1 -p "$PORT" -e production --pid "$STATE/server.pid" > "$STATE/server.log" 2>&1 < /dev/null &)
    for _ in $(seq 1 120); do
      curl -fs -o /dev/null "http://127.0.0.1:$PORT/" && break
      sleep 0.5
    done
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/" || { tail -30 "$STATE/server.log" >&2; echo "redmine did not start" >&2; exit 1; }
  fi
  setup_ruby
  (cd "$HOME_DIR" && bin/rails runner -e production "$STATE/setup.rb") | grep '^REDMINE_' > "$STATE/env"
  echo "REDMINE_URL=http://127.0.0.1:$PORT" >> "$STATE/env"
  cat "$STATE/env"
}

stop() {
  [ -f "$STATE/server.pid" ] && kill "$(cat "$STATE/server.pid")" 2>/dev/null || true
  rm -f "$STATE/server.pid"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  env) cat "$STATE/env" ;;
  *) echo "usage: $0 install|start|stop|env" >&2; exit 2 ;;
esac
