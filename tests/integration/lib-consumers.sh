# shellcheck shell=bash disable=SC2034
# The consumers of tokens, as real peers, for the tests of issue 17: Debian's
# git, kubectl and msmtp against local servers that accept a request only
# with an access token the test provider accepts, and a heartbeat counter.
# Source it after lib.sh, call peers_start first, then:
#
#   consumers_check_prereqs git kubectl msmtp   # skip (77) if one is missing
#   git_server_start        # GIT_ORIGIN, GIT_HOST, GIT_REPO_URL, GIT_LOG
#   kube_server_start       # KUBE_SERVER, KUBE_CA, KUBE_LOG
#   smtp_server_start       # SMTP_PORT, SMTP_LOG, SMTP_MAILBOX
#   imap_server_start       # IMAP_PORT, IMAP_LOG
#   heartbeat_start         # HEARTBEAT, HEARTBEAT_LOG, HEARTBEAT_HANG
#
# Each server is a node script in tests/peers (git-http.mjs, kube-api.mjs,
# smtp.mjs, imap.mjs, heartbeat.mjs) on 127.0.0.1, a free port, stopped by peers_stop;
# a server that does not start skips the test. Their logs (JSON lines, never
# a token) are counted with peer_count.

SPK_KUBECTL=/usr/bin/kubectl

# consumers_check_prereqs CLIENT...: each of git, kubectl, msmtp, mbsync,
# openssl is installed from Debian's package (kubectl: kubernetes-client, not
# another package's /usr/bin/kubectl; mbsync: isync, with the XOAUTH2 SASL
# module libsasl2-modules-kdexoauth2).
consumers_check_prereqs() {
    local c owner
    for c in "$@"; do
        case $c in
            kubectl)
                owner=$(dpkg-query -S "$SPK_KUBECTL" 2>/dev/null | grep -v '^diversion' | cut -d: -f1)
                case ", $owner," in
                    *", kubernetes-client,"*) ;;
                    *) spk_skip "$SPK_KUBECTL is not Debian's kubernetes-client (owner: ${owner:-none})" ;;
                esac ;;
            mbsync)
                command -v mbsync >/dev/null || spk_skip "mbsync is not installed (apt-get install isync)"
                compgen -G '/usr/lib/*/sasl2/libkdexoauth2.so*' >/dev/null \
                    || spk_skip "no Cyrus SASL XOAUTH2 module for mbsync" \
                        "(apt-get install libsasl2-modules-kdexoauth2)" ;;
            *)  command -v "$c" >/dev/null || spk_skip "$c is not installed (apt-get install $c)" ;;
        esac
    done
}

# peer_run TAG SCRIPT [ARG...]: start tests/peers/SCRIPT with --port 0 and
# --port-file $SPK_TMP/TAG.port, stdout and stderr in $SPK_TMP/TAG.{out,log};
# sets PEER_PORT. Stopped by peers_stop; the test is skipped if it does not
# start.
peer_run() {
    local tag=$1 script=$2 pid; shift 2
    node "$SPK_PEERS/$script" --port 0 --port-file "$SPK_TMP/$tag.port" "$@" \
        >"$SPK_TMP/$tag.out" 2>"$SPK_TMP/$tag.log" </dev/null &
    pid=$!; SPK_PIDS+=("$pid")
    wait_for_file "$SPK_TMP/$tag.port" 30 "$pid" \
        || { cat "$SPK_TMP/$tag.log" >&2; spk_skip "$script did not start"; }
    PEER_PORT=$(cat "$SPK_TMP/$tag.port")
}

# consumer_login PROFILE [SCOPE]: sign in as alice to the test provider
# (sparekey-native, scope "openid offline_access" unless SCOPE), or bail.
consumer_login() {
    spk_login "$1" --issuer "$ISSUER" --client-id sparekey-native --scope "${2:-openid offline_access}" \
        || bail "login $1 failed; nothing else can be checked"
}

# grant_revoke PROFILE: the provider revokes PROFILE's grant (a refresh,
# then the spent refresh token sent again: reuse detection), and with it
# every access token of the grant; the stored grant is left as it is.
grant_revoke() {
    local rt
    rt=$(grant_field "$1" refresh_token)
    sk refresh "$1"
    token_post "grant_type=refresh_token&client_id=sparekey-native&refresh_token=$(urlencode "$rt")"
    assert_eq "$(json_get error <<<"$TP_BODY")" invalid_grant "(harness) $1's grant is revoked at the provider"
}

# assert_no_login_since MARK: since events_mark said MARK, no person was
# asked to log in: no authorization request, no login at the provider, no
# browser result (call browser_reset before MARK).
assert_no_login_since() {
    assert_eq "$(logins_since "$1")" 0 "... nobody was asked to log in"
    assert_eq "$(events_since "$1" | grep -c '"event":"authorization\.')" 0 "... no authorization request reached the provider"
    if [ ! -e "$SPK_BROWSER_RESULT" ]; then ok "... no browser opened"
    else not_ok "... no browser opened" "$(cat "$SPK_BROWSER_RESULT")"; fi
}

# peer_count LOG FIELD=VALUE...: lines of a peer's JSON log that have every
# FIELD=VALUE (values compared as strings).
peer_count() {
    local f=$1; shift
    [ -s "$f" ] || { echo 0; return 0; }
    node -e 'const [file, ...want] = process.argv.slice(1);
             const lines = require("fs").readFileSync(file, "utf8").split("\n").filter(Boolean);
             const pairs = want.map((w) => [w.slice(0, w.indexOf("=")), w.slice(w.indexOf("=") + 1)]);
             console.log(lines.map((l) => JSON.parse(l))
               .filter((o) => pairs.every(([k, v]) => String(o[k]) === v)).length);' "$f" "$@"
}

# ---------------------------------------------------------------- git

# git_server_start: a bare repository demo.git (one commit: README with
# "hello from the test forge") served by git-http.mjs. Sets GIT_ORIGIN
# (http://127.0.0.1:PORT), GIT_HOST (127.0.0.1:PORT, as git names the host
# to a credential helper), GIT_REPO_URL ($GIT_ORIGIN/demo.git), GIT_LOG.
# git's configuration is private: $HOME/.gitconfig, no system file, and it
# never prompts on the terminal.
git_server_start() {
    local seed=$SPK_TMP/git-seed
    export GIT_CONFIG_NOSYSTEM=1 GIT_TERMINAL_PROMPT=0 GIT_CONFIG_GLOBAL=$HOME/.gitconfig
    unset GIT_ASKPASS SSH_ASKPASS
    git config --global user.name 'Sparekey Test'
    git config --global user.email 'test@example.test'
    git config --global init.defaultBranch main
    git config --global protocol.version 2
    mkdir -p "$SPK_TMP/git-root"
    git init -q --bare "$SPK_TMP/git-root/demo.git" || bail "git init --bare failed"
    if ! { git init -q "$seed" && printf 'hello from the test forge\n' >"$seed/README" \
        && git -C "$seed" add README && git -C "$seed" commit -qm 'first commit' \
        && git -C "$seed" push -q "$SPK_TMP/git-root/demo.git" main 2>/dev/null; }; then
        bail "could not seed demo.git"
    fi
    rm -rf -- "$seed"
    GIT_LOG=$SPK_TMP/git-requests.jsonl
    : >"$GIT_LOG"
    peer_run git-http git-http.mjs --issuer "$ISSUER" --repo-root "$SPK_TMP/git-root" --log "$GIT_LOG"
    GIT_HOST=127.0.0.1:$PEER_PORT
    GIT_ORIGIN=http://$GIT_HOST
    GIT_REPO_URL=$GIT_ORIGIN/demo.git
    export GIT_ORIGIN GIT_HOST GIT_REPO_URL GIT_LOG
    diag "git server: $GIT_REPO_URL"
}

# client_run NAME CMD...: run a client with a hard timeout (120 s), stdin
# from /dev/null; sets CL_RC, CL_OUT, CL_ERR (stderr, also shown as
# diagnostics; raw in $SPK_TMP/NAME.out and NAME.err).
client_run() {
    local n=$1; shift
    { timeout --kill-after=5 120 "$@" </dev/null >"$SPK_TMP/$n.out" 2>"$SPK_TMP/$n.err"; } 2>/dev/null
    CL_RC=$?
    CL_OUT=$(cat "$SPK_TMP/$n.out")
    CL_ERR=$(cat "$SPK_TMP/$n.err")
    diag "\$ $n ${*:2}  -> exit $CL_RC"
    diag_file "$SPK_TMP/$n.err" 'stderr: '
}

# git_run DIR ARGS...: git -C DIR ARGS; sets GIT_RC, GIT_OUT, GIT_ERR.
git_run() {
    client_run git git -C "$@"
    GIT_RC=$CL_RC GIT_OUT=$CL_OUT GIT_ERR=$CL_ERR
}

# ---------------------------------------------------------------- kubectl

# kube_server_start: a CA and a server certificate for 127.0.0.1 (openssl,
# made now), and kube-api.mjs with them. Sets KUBE_SERVER
# (https://127.0.0.1:PORT), KUBE_CA (the CA certificate file), KUBE_LOG.
kube_server_start() {
    local d=$SPK_TMP/pki
    mkdir -p "$d"
    {
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=sparekey test CA' \
            -keyout "$d/ca.key" -out "$d/ca.crt" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        && openssl req -newkey rsa:2048 -nodes -subj '/CN=127.0.0.1' \
            -keyout "$d/server.key" -out "$d/server.csr" \
        && printf '%s\n' 'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' \
            'extendedKeyUsage=serverAuth' 'subjectAltName=IP:127.0.0.1' >"$d/server.ext" \
        && openssl x509 -req -in "$d/server.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
            -CAcreateserial -days 2 -extfile "$d/server.ext" -out "$d/server.crt"
    } >"$SPK_TMP/openssl.log" 2>&1 || { cat "$SPK_TMP/openssl.log" >&2; bail "openssl could not make the test certificates"; }
    KUBE_CA=$d/ca.crt
    KUBE_LOG=$SPK_TMP/kube-requests.jsonl
    : >"$KUBE_LOG"
    peer_run kube-api kube-api.mjs --issuer "$ISSUER" --cert "$d/server.crt" --key "$d/server.key" \
        --log "$KUBE_LOG"
    KUBE_SERVER=https://127.0.0.1:$PEER_PORT
    export KUBE_SERVER KUBE_CA KUBE_LOG
    diag "kube-apiserver stand-in: $KUBE_SERVER"
}

# kubeconfig_write FILE USER-LINE...: a kubeconfig (0600) for $KUBE_SERVER
# with certificate-authority $KUBE_CA, whose user "u" has the given lines
# (YAML, indented below "user:" by the caller, e.g. "    tokenFile: F").
kubeconfig_write() {
    local f=$1; shift
    (umask 077; {
        printf '%s\n' 'apiVersion: v1' 'kind: Config' 'clusters:' '- name: test' '  cluster:' \
            "    server: $KUBE_SERVER" "    certificate-authority: $KUBE_CA" \
            'users:' '- name: u' '  user:'
        printf '%s\n' "$@"
        printf '%s\n' 'contexts:' '- name: test' '  context:' '    cluster: test' '    user: u' \
            'current-context: test'
    } >"$f")
}

# kubeconfig_exec FILE PROFILE APIVERSION: a kubeconfig whose user runs
# `sparekey token PROFILE --exec-credential` as its exec plugin
# (client.authentication.k8s.io/APIVERSION).
kubeconfig_exec() {
    kubeconfig_write "$1" '    exec:' "      apiVersion: client.authentication.k8s.io/$3" \
        "      command: $SPAREKEY" '      args:' '      - token' "      - $2" '      - --exec-credential'
}

# kubectl_run KUBECONFIG ARGS...: Debian's kubectl with that kubeconfig
# only (its cache in the private HOME); sets KC_RC, KC_OUT, KC_ERR.
kubectl_run() {
    client_run kubectl env KUBECONFIG="$1" "$SPK_KUBECTL" --kubeconfig "$1" --request-timeout 30s "${@:2}"
    KC_RC=$CL_RC KC_OUT=$CL_OUT KC_ERR=$CL_ERR
}

# ---------------------------------------------------------------- mail

# smtp_server_start: smtp.mjs. Sets SMTP_PORT, SMTP_LOG, SMTP_MAILBOX (the
# mbox file accepted messages are appended to).
smtp_server_start() {
    SMTP_LOG=$SPK_TMP/smtp.jsonl
    SMTP_MAILBOX=$SPK_TMP/mailbox
    : >"$SMTP_LOG"
    : >"$SMTP_MAILBOX"
    peer_run smtp smtp.mjs --issuer "$ISSUER" --log "$SMTP_LOG" --mailbox "$SMTP_MAILBOX"
    SMTP_PORT=$PEER_PORT
    export SMTP_PORT SMTP_LOG SMTP_MAILBOX
    diag "smtp server: 127.0.0.1:$SMTP_PORT"
}

# msmtprc_write FILE PASSWORDEVAL: an msmtp configuration (0600) for
# smtp.mjs, account "test" (the default): user and from
# alice@example.test, auth xoauth2, tls off (loopback), the password from
# the command PASSWORDEVAL (msmtp's passwordeval), a log in $SPK_TMP.
msmtprc_write() {
    (umask 077; printf '%s\n' 'defaults' "logfile $SPK_TMP/msmtp.log" '' 'account test' \
        'host 127.0.0.1' "port $SMTP_PORT" 'tls off' 'auth xoauth2' \
        'user alice@example.test' 'from alice@example.test' "passwordeval \"$2\"" '' \
        'account default : test' >"$1")
}

# msmtp_send RC SUBJECT: send one message with msmtp -C RC to
# bob@example.test; sets MS_RC, MS_ERR.
msmtp_send() {
    { printf '%s\r\n' 'From: alice@example.test' 'To: bob@example.test' "Subject: $2" '' \
        'Sent by sparekey integration tests.' \
        | timeout --kill-after=5 60 msmtp -C "$1" bob@example.test >"$SPK_TMP/msmtp.out" 2>"$SPK_TMP/msmtp.err"; } 2>/dev/null
    MS_RC=$?
    MS_ERR=$(cat "$SPK_TMP/msmtp.err")
    diag "\$ msmtp -C $1 bob@example.test  (Subject: $2)  -> exit $MS_RC"
    diag_file "$SPK_TMP/msmtp.err" 'stderr: '
}

# imap_server_start: imap.mjs, INBOX holding one message, refusing a token
# as Microsoft 365 does (mbsync 1.4 hangs on Gmail's way: see imap.mjs).
# Sets IMAP_PORT, IMAP_LOG.
imap_server_start() {
    IMAP_LOG=$SPK_TMP/imap.jsonl
    : >"$IMAP_LOG"
    peer_run imap imap.mjs --issuer "$ISSUER" --log "$IMAP_LOG" --refusal microsoft
    IMAP_PORT=$PEER_PORT
    export IMAP_PORT IMAP_LOG
    diag "imap server: 127.0.0.1:$IMAP_PORT"
}

# mbsyncrc_write FILE MAILDIR PASSCMD: an mbsync configuration (0600) for
# imap.mjs: user alice@example.test, AuthMechs XOAUTH2, SSLType None
# (loopback), the password from the command PASSCMD (mbsync's PassCmd);
# channel "test" pulls INBOX into the Maildir MAILDIR (made here). mbsync
# 1.4 (Debian 12) spells TLSType SSLType; 1.5 takes both.
mbsyncrc_write() {
    mkdir -p "$2"
    (umask 077; printf '%s\n' 'IMAPAccount test' 'Host 127.0.0.1' "Port $IMAP_PORT" \
        'User alice@example.test' 'AuthMechs XOAUTH2' "PassCmd \"$3\"" 'SSLType None' '' \
        'IMAPStore test-remote' 'Account test' '' \
        'MaildirStore test-local' "Path $2/" "Inbox $2/INBOX" '' \
        'Channel test' 'Far :test-remote:' 'Near :test-local:' 'Patterns INBOX' \
        'Create Near' 'Sync Pull' 'SyncState *' >"$1")
}

# mbsync_run RC: mbsync -c RC test (pull INBOX); sets MB_RC, MB_ERR.
mbsync_run() {
    timeout --kill-after=5 60 mbsync -c "$1" test >"$SPK_TMP/mbsync.out" 2>"$SPK_TMP/mbsync.err"
    MB_RC=$?
    MB_ERR=$(cat "$SPK_TMP/mbsync.err")
    diag "\$ mbsync -c $1 test  -> exit $MB_RC"
    diag_file "$SPK_TMP/mbsync.err" 'stderr: '
}

# ---------------------------------------------------------------- heartbeat

# heartbeat_start: heartbeat.mjs. Sets HEARTBEAT (http://127.0.0.1:PORT),
# HEARTBEAT_LOG, HEARTBEAT_HANG (touch it: pings are counted and never
# answered; remove it: answered again).
heartbeat_start() {
    HEARTBEAT_LOG=$SPK_TMP/heartbeat.jsonl
    HEARTBEAT_HANG=$SPK_TMP/heartbeat.hang
    : >"$HEARTBEAT_LOG"
    peer_run heartbeat heartbeat.mjs --log "$HEARTBEAT_LOG" --hang-file "$HEARTBEAT_HANG"
    HEARTBEAT=http://127.0.0.1:$PEER_PORT
    export HEARTBEAT HEARTBEAT_LOG HEARTBEAT_HANG
    diag "heartbeat server: $HEARTBEAT"
}

# heartbeat_count PATH: pings the heartbeat server got on PATH so far
heartbeat_count() {
    curl -fsS --max-time 10 "$HEARTBEAT/counts" | node -e '
        const c = JSON.parse(require("fs").readFileSync(0, "utf8"));
        console.log(c[process.argv[1]] || 0);' "$1"
}
