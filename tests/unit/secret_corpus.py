"""A corpus of secret shapes as runbooks, tools and logs really print them, and of text
that looks random but is no secret (it must stay readable). Fake values only."""

from __future__ import annotations

AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
GH = "ghp_" + "R8kq2ZtLw9XbN4mPf7Yc1Vd6Hs3Ja0Ue5Gi2"
PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj"

# (label, text as printed, the secret that must not survive)
SHAPES: list[tuple[str, str, str]] = [
    ("set -x trace", "+ DBPW=Tr4ce-Secret-91\n+ psql -h db", "Tr4ce-Secret-91"),
    ("--password flag", "mysqladmin --password Fl4gSecret77 status", "Fl4gSecret77"),
    ("--password= flag", "pg_dump --password=Fl4gEqSecret88 orders", "Fl4gEqSecret88"),
    ("mysql -p attached", "mysql -uroot -pAtt4chedPw9 -e 'show status'", "Att4chedPw9"),
    ("sshpass -p", "sshpass -p 'Ssh-P4ss-2' ssh admin@host", "Ssh-P4ss-2"),
    ("DB_PASS=", "DB_PASS=Pl41nPass-x restarting", "Pl41nPass-x"),
    ("XML element", "<config><password>Xml-S3cret</password></config>", "Xml-S3cret"),
    (
        "JSON-escaped log string",
        '{"log": "login with {\\"password\\": \\"Esc4ped-Pw\\"} ok"}',
        "Esc4ped-Pw",
    ),
    (
        "PGP private key block",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGPg1xYBCADpgpSecretMaterial\n"
        "=abcd\n-----END PGP PRIVATE KEY BLOCK-----",
        "lQOYBGPg1xYBCADpgpSecretMaterial",
    ),
    ("bare GitHub token", f"cloning with {GH} done", GH),
    (
        "GitHub fine-grained",
        "token github_pat_11ABCDEFG0abcdefghijklmn_opqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUV used",
        "github_pat_11ABCDEFG0abcdefghijklmn_opqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUV",
    ),
    (  # detect-secrets' pattern takes the first 24 characters: the tail must go too
        "Stripe live key, today's length",
        "charging with sk_live_51Hq8ZtLw9XbN4mPf7Yc1Vd6Hs3Ja0Ue5Gi2R8kq2ZtLw9XbN4mPf7Yc1Vd6Hs3Ja0Ue5 ok",
        "Ja0Ue5Gi2R8kq2ZtLw9XbN4mPf7Yc1Vd6Hs3Ja0Ue5",
    ),
    (
        "Slack app-level token",
        "socket mode with xapp-1-A0123456789-1234567890123-0a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    ),
    (
        "Slack refresh token",
        "rotating xoxe-1-My0xLTEyMzQ1Njc4OTAxMi0xMjM0NTY3ODkwMTIzLWFiY2Q done",
        "My0xLTEyMzQ1Njc4OTAxMi0xMjM0NTY3ODkwMTIzLWFiY2Q",
    ),
    (
        "Heroku API key",
        "HEROKU=HRKU-AA0b1c2d3e4f5g6h7i8j9k0l1m2n3o4p5q6r7s8t9u0",
        "0b1c2d3e4f5g6h7i8j9k0",
    ),
    (
        "DigitalOcean token",
        "doctl auth init -t dop_v1_0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
        "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9",
    ),
    (
        "Databricks token",
        "workspace ok, dapi0a1b2c3d4e5f60718293a4b5c6d7e8f9 set",
        "0a1b2c3d4e5f607",
    ),
    (
        "New Relic user key",
        "NEW_RELIC_USER=NRAK-0B1C2D3E4F5G6H7I8J9K0L1M2N3 loaded",
        "0B1C2D3E4F5G",
    ),
    (
        "Grafana service account",
        "grafana glsa_Zt7Lw9XbN4mPf7Yc1Vd6Hs3Ja0Ue5Gi_0a1b2c3d",
        "Zt7Lw9XbN4mPf7",
    ),
    (
        "Sentry org token",
        "sentry-cli with sntrys_eyJpYXQiOjE2ODAwMDAwMDB9_R8kq2ZtLw9XbN4mPf7Yc1Vd6Hs3Ja0Ue5Gi2",
        "R8kq2ZtLw9XbN4mPf7Yc1Vd6",
    ),
    (
        "Pulumi token",
        "PULUMI_ACCESS_TOKEN set: pul-0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d",
        "8293a4b5c6d7e8f90a1b",
    ),
    (
        "Doppler token",
        "doppler run with dp.st.prd.Zt7Lw9XbN4mPf7Yc1Vd6Hs3Ja0Ue5Gi2R8kq",
        "Zt7Lw9XbN4mPf7Yc1Vd6",
    ),
    (
        "Discord bot token",
        "bot login MTAxMjM0NTY3ODkwMTIzNDU2Nzg5.GhIjKl.Zt7Lw9XbN4mPf7Yc1Vd6Hs3Ja0Ue5Gi2R8kq2ZtLw9XbN4mPf",
        "R8kq2ZtLw9XbN4mPf",
    ),
    (
        "Discord webhook URL",
        "notify: curl -XPOST https://discord.com/api/webhooks/123456789012345678/Zt7Lw9XbN4mPf7Yc1Vd6Hs3Ja0Ue5Gi2R8kq_AbC",
        "Zt7Lw9XbN4mPf7Yc1Vd6Hs3Ja0Ue5Gi2R8kq_AbC",
    ),
    (
        "Teams incoming webhook URL",
        "posted to https://acme.webhook.office.com/webhookb2/0a1b2c3d-1111-2222-3333-0123456789ab@0a1b2c3d-4444-5555-6666-0123456789ab/IncomingWebhook/9f8e7d6c5b4a39281706f5e4d3c2b1a0/0a1b2c3d-7777-8888-9999-0123456789ab/V2Zt7Lw9XbN4mPf7Yc1Vd6Hs3Ja0Ue5Gi2 ok",
        "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    ),
    (
        "Telegram bot URL",
        "GET https://api.telegram.org/bot110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getMe",
        "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    ),
    (
        "PagerDuty integration key in a URL",
        "POST https://events.pagerduty.com/integration/9f8e7d6c5b4a39281706f5e4d3c2b1a0/enqueue",
        "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    ),
    ("password with an &", "login password=Tr0ub4dor&3xyz user=bob", "&3xyz"),
    (
        "Slack bot token",
        "posting as xoxb-2468013579-1357924680-AbCdEfGhIjKlMnOpQrStUvWx",
        "xoxb-2468013579-1357924680-AbCdEfGhIjKlMnOpQrStUvWx",
    ),
    (
        "Slack webhook",
        "hook https://hooks.slack.com/services/T0123ABCD/B0456EFGH/aBcDeFgHiJkLmNoPqRsTuVwX",
        "aBcDeFgHiJkLmNoPqRsTuVwX",
    ),
    (
        "Stripe live key",
        "charging with sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
    ),
    (
        "Stripe restricted key",
        "rk_live_51H8xYz2eZvKYlo2CabcdEFGH1234",
        "rk_live_51H8xYz2eZvKYlo2CabcdEFGH1234",
    ),
    (
        "AWS secret wrapped across lines",
        f"aws configure list\nsecret: {AWS_SECRET[:25]}\n{AWS_SECRET[25:]}\nregion us-east-1",
        AWS_SECRET[25:],
    ),
    ("AWS secret standalone", f"found {AWS_SECRET} in env", AWS_SECRET),
    ("AWS access key id", "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    (
        "AWS session token",
        "aws_session_token = IQoJb3JpZ2luX2VjEAkaCXVzLWVhc3QtMSJHMEUCIQD",
        "IQoJb3JpZ2luX2VjEAkaCXVzLWVhc3QtMSJHMEUCIQD",
    ),
    ("URL ?key=", "GET https://maps.example.com/api?key=Qk3yV4lue99&q=x", "Qk3yV4lue99"),
    (
        "URL &sig=",
        "https://acct.blob.core.windows.net/c/f?sv=2022-11-02&sig=S1gN4tur3%2Bvalue%3D",
        "S1gN4tur3%2Bvalue%3D",
    ),
    (
        "presigned S3 URL",
        "https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20261205&X-Amz-Signature=9f2c1e0d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e",
        "9f2c1e0d8b7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e",
    ),
    ("postgres URL", "postgres://app:Pg-Url-Pw1@db.internal:5432/orders", "Pg-Url-Pw1"),
    ("redis URL no user", "redis://:R3dis-Pw@cache:6379/0", "R3dis-Pw"),
    ("mongodb+srv URL", "mongodb+srv://svc:M0ngo-Pw@cluster0.example.net/db", "M0ngo-Pw"),
    (
        "ADO.NET connection string",
        "Server=db;Database=orders;User Id=sa;Password=Ad0-Net-Pw;",
        "Ad0-Net-Pw",
    ),
    ("JDBC password param", "jdbc:mysql://db:3306/o?user=app&password=Jdbc-Pw-42", "Jdbc-Pw-42"),
    (".netrc one line", "machine api.example.com login bob password N3trc-Pw", "N3trc-Pw"),
    (
        ".netrc multi line",
        "machine git.example.com\n  login bob\n  password N3trc-Multi\n",
        "N3trc-Multi",
    ),
    (
        "Authorization Bearer",
        "Authorization: Bearer opaque-T0ken-abcdef123",
        "opaque-T0ken-abcdef123",
    ),
    ("Authorization token", "Authorization: token 0paqueTokenValue12345", "0paqueTokenValue12345"),
    (
        "Authorization Basic base64",
        "Authorization: Basic YWRtaW46QmFzMWMtUHc=",
        "YWRtaW46QmFzMWMtUHc=",
    ),
    (
        "AWS SigV4 header",
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261205/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
        "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
    ),
    ("X-Api-Key header", "X-Api-Key: ApiK3yHeaderValue", "ApiK3yHeaderValue"),
    ("Cookie header", "Cookie: session=Sess10nCookieValue; theme=dark", "Sess10nCookieValue"),
    ("curl -u", "curl -u deploy:Curl-U-Pw https://ci.example.com", "Curl-U-Pw"),
    (
        "Azure storage connection string",
        "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=bXlBenVyZVN0b3JhZ2VBY2NvdW50S2V5VmFsdWVGb3JUZXN0aW5nMTIzNDU2Nzg5MA==;EndpointSuffix=core.windows.net",
        "bXlBenVyZVN0b3JhZ2VBY2NvdW50S2V5VmFsdWVGb3JUZXN0aW5nMTIzNDU2Nzg5MA==",
    ),
    (
        "Azure client secret env",
        "AZURE_CLIENT_SECRET=Az~Cl13nt.S3cret_v4lue",
        "Az~Cl13nt.S3cret_v4lue",
    ),
    (
        "GCP API key",
        "maps key AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY loaded",
        "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    ),
    (
        "GCP OAuth access token",
        "Bearer-less ya29.a0AfH6SMBx3Kq-9zYwVtUuSr7PqOnMlKjIhGf loaded",
        "ya29.a0AfH6SMBx3Kq-9zYwVtUuSr7PqOnMlKjIhGf",
    ),
    (
        "GCP service account JSON",
        '{"type": "service_account", "private_key_id": "1a2b3c4d5e6f7a8b9c0d", '
        '"private_key": "-----BEGIN PRIVATE KEY-----\\n'
        + PEM_BODY
        + '\\n-----END PRIVATE KEY-----\\n"}',
        PEM_BODY,
    ),
    (
        "OpenSSH private key",
        f"-----BEGIN OPENSSH PRIVATE KEY-----\n{PEM_BODY}\n-----END OPENSSH PRIVATE KEY-----",
        PEM_BODY,
    ),
    (
        "RSA private key",
        f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----",
        PEM_BODY,
    ),
    (
        "PKCS#8 private key",
        f"-----BEGIN PRIVATE KEY-----\n{PEM_BODY}\n-----END PRIVATE KEY-----",
        PEM_BODY,
    ),
    (
        "PKCS#8 encrypted key",
        f"-----BEGIN ENCRYPTED PRIVATE KEY-----\n{PEM_BODY}\n-----END ENCRYPTED PRIVATE KEY-----",
        PEM_BODY,
    ),
    (
        "JWT",
        "id_token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlLWJ5dGVzLXg",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.c2lnbmF0dXJlLWJ5dGVzLXg",
    ),
    (
        # the header and payload are guessable: the signature alone rebuilds the token
        "JWT's signature (Bearer header)",
        "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0In0."
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ),
    ("GitLab token", "using glpat-xYz12AbC34dEf56GhI78jK", "glpat-xYz12AbC34dEf56GhI78jK"),
    (
        "npm token on its own",
        "NPM_CONFIG_USERCONFIG set; publishing with npm_Zx8cV6bN4mQ2wE0rT9yU7iO5pA3sD1fG8hJ6",
        "npm_Zx8cV6bN4mQ2wE0rT9yU7iO5pA3sD1fG8hJ6",
    ),
    (
        "Shopify admin token",
        "sync failed for store 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 (401)",
        "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",
    ),
    ("mysql -p quoted", "mysql -h db -uroot -p'Qu0ted-Pw-5' orders", "Qu0ted-Pw-5"),
    ("docker login -p", "docker login -u ci -p D0cker-Pw-6 registry.example.com", "D0cker-Pw-6"),
    ("redis-cli -a", "redis-cli -h cache -a R3dis-Pw-7 info replication", "R3dis-Pw-7"),
    (
        "az login -p",
        "az login --service-principal -u app -p Az-Sp-S3cret --tenant t",
        "Az-Sp-S3cret",
    ),
    ("ldapsearch -w", "ldapsearch -x -D cn=admin,dc=x -w Ld4p-Bind-Pw -b dc=x", "Ld4p-Bind-Pw"),
    ("sqlcmd -P", "sqlcmd -S db,1433 -U sa -P SqlCmd-Pw-55 -Q 'select 1'", "SqlCmd-Pw-55"),
    ("openssl -k", "openssl enc -aes-256-cbc -salt -k 0penSsl-Pw -in backup.tar", "0penSsl-Pw"),
    ("openssl pass:", "openssl pkcs12 -export -passout pass:P12-Exp0rt -out a.p12", "P12-Exp0rt"),
    ("smbclient -U user%pw", "smbclient //fs/share -U backup%Smb-Sh4re-Pw -c ls", "Smb-Sh4re-Pw"),
    ("htpasswd -b", "htpasswd -bc /etc/nginx/.htpasswd admin Htp4sswd-Pw", "Htp4sswd-Pw"),
    ("rabbitmqctl add_user", "rabbitmqctl add_user ops R4bbit-Pw-7 && echo ok", "R4bbit-Pw-7"),
    (
        "YAML block scalar under a secret key",
        "db:\n  password: |\n    Bl0ck-Scalar-Secret\n  host: db.internal",
        "Bl0ck-Scalar-Secret",
    ),
    (
        "kubeconfig client-key-data (base64 PEM)",
        "users:\n- name: admin\n  user:\n    client-key-data: LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0tCk1IY0NBUUVFSUJrSzhzRWNyZXRFY0tleU1hdGVyaWFsMDEyMzQ1Njc4OW9Bb0dDQ3FHU000OQotLS0tLUVORCBFQyBQUklWQVRFIEtFWS0tLS0tCg==",
        "LS0tLS1CRUdJTiBFQyBQUklWQVRFIEtFWS0tLS0t",
    ),
    (
        "npm token",
        "//registry/:_authToken=npm_aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5",
        "npm_aB3dE5gH7jK9mN1pQ3sT5vX7zA9cE1gI3kM5",
    ),
    (
        "SendGrid key",
        "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",
        "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",
    ),
    (
        "Vault token",
        "VAULT_ADDR set; using hvs.CAESIJ3k9Zl2Xw8YqTb7VnR4mP1sD6fG",
        "hvs.CAESIJ3k9Zl2Xw8YqTb7VnR4mP1sD6fG",
    ),
    (
        "OpenAI project key",
        "OPENAI key sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56",
        "sk-proj-Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56",
    ),
    (
        "docker config auth",
        '{"auths": {"r.example.com": {"auth": "ZGVwbG95OkRvY2tlci1QdzE="}}}',
        "ZGVwbG95OkRvY2tlci1QdzE=",
    ),
    (".NET appSettings", '<add key="ApiKey" value="DotN3tApiKeyValue"/>', "DotN3tApiKeyValue"),
    ("YAML quoted with spaces", 'password: "p4ss w0rd with spaces"', "p4ss w0rd with spaces"),
    ("MYSQL_PWD", "export MYSQL_PWD=MyPwd-Env9", "MyPwd-Env9"),
    (
        "client_secret JSON",
        '{"client_id": "web", "client_secret": "Cl1entS3cretJson"}',
        "Cl1entS3cretJson",
    ),
    # An INI line with spaces around `=` (my.cnf, pgbouncer.ini, php.ini): the .netrc rule
    # once took the `=` for the value and left the password after it.
    ("INI password = value", "[client]\nuser = root\npassword = Ini-Sp4ced-Pw", "Ini-Sp4ced-Pw"),
    ("YAML key : value", "password : Yaml-Sp4ced-Pw", "Yaml-Sp4ced-Pw"),
    ("nslcd.conf bindpw", "binddn cn=nslcd,dc=example\nbindpw Ld4p-Bind-Pw", "Ld4p-Bind-Pw"),
    ("redis.conf requirepass", "requirepass Red1s-Conf-Pw\nmasterauth Red1s-Master-Pw", "Red1s-"),
    ("keepalived auth_pass", "  authentication {\n    auth_pass K33p-Al1ve\n  }", "K33p-Al1ve"),
    ("redis-cli AUTH", "redis-cli -h cache AUTH default Red1s-Auth-Pw", "Red1s-Auth-Pw"),
    ("mongosh -p", "mongosh -u admin -p M0ngo-Sh-Pw --authenticationDatabase admin", "M0ngo-Sh-Pw"),
    ("psexec -p", "psexec \\\\srv01 -u CORP\\svc -p Ps3xec-Pw cmd /c ipconfig", "Ps3xec-Pw"),
    (
        "ipmitool -P",
        "ipmitool -I lanplus -H 10.0.0.9 -p 623 -U admin -P Ipm1-Pw power status",
        "Ipm1-Pw",
    ),
    (
        "snmpwalk v3 passphrases",
        "snmpwalk -v3 -u mon -l authPriv -a SHA -A Snmp-Auth-Pw -x AES -X Snmp-Priv-Pw h",
        "Snmp-",
    ),
    ("snmp community", "snmpget -v2c -c Snmp-C0mmunity 10.0.0.1 sysUpTime.0", "Snmp-C0mmunity"),
    (
        "net use",
        "net use Z: \\\\srv\\share /user:CORP\\bob N3t-Use-Pw /persistent:no",
        "N3t-Use-Pw",
    ),
    ("HAProxy stats auth", "listen stats\n  stats auth admin:H4proxy-Pw", "H4proxy-Pw"),
    (
        "sqlplus user/password",
        "sqlplus -s app_owner/Orac1e-Pw@//db:1521/ORCLPDB1 @fix.sql",
        "Orac1e-Pw",
    ),
    ("SQL*Plus connect", "SQL> connect system/Orac1e-Sys@pdb1", "Orac1e-Sys"),
    (
        "vault operator init",
        "Unseal Key 1: qL3k9Zl2Xw8YqTb7VnR4mP1sD6fGh0Jk2Lm4Np6Qr8St\n"
        "Initial Root Token: s.Xw8YqTb7VnR4mP1sD6fGh0Jk",
        "qL3k9Zl2Xw8YqTb7VnR4mP1sD6fGh0Jk2Lm4Np6Qr8St",
    ),
    (
        "Authorization: Splunk",
        'curl -H "Authorization: Splunk 5f3a9c1e-8b7d-4a5f-9e3d-2c1b0a9f8e7d" https://hec:8088',
        "5f3a9c1e-8b7d-4a5f-9e3d-2c1b0a9f8e7d",
    ),
    (
        "Datadog application key header",
        "DD-APPLICATION-KEY: 9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7c6",
        "9f8e7d6c5b4a",
    ),
    (
        "pre-shared key",
        "zabbix_agentd.conf: TLSPSK=5f3a9c1e8b7d4a5f9e3d2c1b0a9f8e7d",
        "5f3a9c1e8b7d",
    ),
    (
        "Entra ID client secret",
        "client secret Xy58Q~k3Lm9Np2Qr4St6Uv8Wx0Yz1Ab3Cd5Ef7G",
        "k3Lm9Np2Qr4St6Uv8Wx0Yz1Ab3Cd5Ef7G",
    ),
    (
        "Docker Hub token",
        "docker login -u ci --password-stdin <<< dckr_pat_k3Lm9Np2Qr4St6Uv8Wx0Yz1Ab",
        "k3Lm9Np2Qr4St6Uv8Wx0Yz1Ab",
    ),
    (
        "Postman key",
        "PMAK-5f3a9c1e8b7d4a5f9e3d2c1b-0a9f8e7d6c5b4a39281706f5e4d3c2b1a0",
        "0a9f8e7d6c5b4a39281706f5e4d3c2b1a0",
    ),
    (
        "Dynatrace token",
        "dt0c01.ST2EY72KQINMH574WMNVI7YN.G3DFPBEJYMODIDAEX454M7YWBUVEFOWKPRVMWFASS64NFH52PX6BNDVFFM572RZM",
        "G3DFPBEJYMODIDAEX454M7YWBUVEFOWKPRVMWFASS64NFH52PX6BNDVFFM572RZM",
    ),
    (
        "Terraform Cloud token",
        "credentials app.terraform.io: k3Lm9Np2Qr4St6.atlasv1.Uv8Wx0Yz1Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5Yz7Ab9Cd1Ef3Gh5Ij7",
        "Uv8Wx0Yz1Ab3Cd5Ef7Gh9Ij1Kl3Mn5Op7Qr9St1Uv3Wx5Yz7Ab9Cd1Ef3Gh5Ij7",
    ),
    (
        "age secret key",
        "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS",
        "QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQ",
    ),
    (
        "Google OAuth refresh token",
        "refresh_tok 1//0gk3Lm9Np2Qr4St6Uv8Wx0Yz1Ab3Cd5Ef7Gh9",
        "k3Lm9Np2Qr4St6Uv8Wx0Yz1Ab3Cd5Ef7Gh9",
    ),
    (
        "Meta access token",
        "graph call with EAAGk3Lm9Np2Qr4St6Uv8Wx0Yz1Ab3Cd5Ef7Gh9Ij",
        "k3Lm9Np2Qr4St6Uv8Wx0Yz1Ab3Cd5Ef7Gh9Ij",
    ),
    (
        "Mailgun key",
        "MG api key-5f3a9c1e8b7d4a5f9e3d2c1b0a9f8e7d",
        "5f3a9c1e8b7d4a5f9e3d2c1b0a9f8e7d",
    ),
    (
        "Alibaba key id",
        "aliyun configure --access-key-id LTAI5tK3Lm9Np2Qr4St6Uv8W",
        "LTAI5tK3Lm9Np2Qr4St6Uv8W",
    ),
    (
        "Supabase token",
        "sbp_5f3a9c1e8b7d4a5f9e3d2c1b0a9f8e7d6c5b4a39",
        "5f3a9c1e8b7d4a5f9e3d2c1b0a9f8e7d6c5b4a39",
    ),
    (
        "Buildkite token",
        "bkua_5f3a9c1e8b7d4a5f9e3d2c1b0a9f8e7d6c5b4a39",
        "5f3a9c1e8b7d4a5f9e3d2c1b0a9f8e7d6c5b4a39",
    ),
    (
        "Notion token",
        "ntn_k3Lm9Np2Qr4St6Uv8Wx0Yz1Ab3Cd5Ef7Gh9Ij1Kl3Mn5",
        "k3Lm9Np2Qr4St6Uv8Wx0Yz1Ab3Cd5Ef7Gh9Ij1Kl3Mn5",
    ),
    (
        "Docker config, base64 (a pull secret's .dockerconfigjson)",
        "  .dockerconfigjson: eyJhdXRocyI6IHsicmVnaXN0cnkuZXhhbXBsZS5jb20iOiB7ImF1dGgiOiAiWkdWd2JHOTVPa1J2WTJzemNrTm1aeTFRZHc9PSJ9fX0=",
        "eyJhdXRocyI6IHsicmVnaXN0cnkuZXhhbXBsZS5jb20iOiB7ImF1dGgiOiAiWkdWd2JHOTVPa1J2WTJzemNrTm1aeTFRZHc9PSJ9fX0=",
    ),
    (
        "Kubernetes secret value, base64 of JSON",
        "data:\n  config.json: ewogICJkYiI6IHsiaG9zdCI6ICJvcmRlcnMtZGIiLCAicGFzc3dvcmQiOiAiSzhzSnMwbi1QdyJ9Cn0=",
        "ewogICJkYiI6IHsiaG9zdCI6ICJvcmRlcnMtZGIiLCAicGFzc3dvcmQiOiAiSzhzSnMwbi1QdyJ9Cn0=",
    ),
    (
        "PuTTY private key",
        "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nPrivate-Lines: 1\n"
        "AAAAIPuTTyPr1vateK3yMaterialK3Lm9Np2Qr4St6Uv8Wx0\nPrivate-MAC: 5f3a9c",
        "AAAAIPuTTyPr1vateK3yMaterial",
    ),
]

# Random-looking but no secret: must come out of the scrubber unchanged.
FALSE_POSITIVES: list[str] = [
    "commit 3f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39 deployed to prod",
    "request id 7c9e6679-7425-40de-944b-e07fc1f90ae7 took 412 ms",
    "alarm on i-0123456789abcdef0 and i-0abc1234 (InService)",
    "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:prod-checkout-api-cpu-high",
    "arn:aws:states:us-east-1:123456789012:execution:opslink-Remediation:remediate-A-015acd530c4dec4279a0",
    "X-Amzn-Trace-Id: Root=1-67891233-abcdef012345678912345678",
    "2026-12-05T12:03:04.123456+00:00 restarted checkout (pid 4242)",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 pulled",
    "Ran 42 tests: 40 passed, 2 skipped in 3.1 s",
    "disk /dev/nvme0n1p1 91 % used; rotated 14 logs under /var/log/app",
    "GET https://status.example.com/health?region=eu-west-1&verbose=true 200",
    "token bucket refilled: 50 of 50; passing traffic to checkout-api-asg",
    "ps -U www-data -o pid,cmd; top -b -p 4242; ls -w 120",
    "description: >\n  restarts the checkout service\nowner: team-payments",
    "    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJzekNDQVZtZ0F3SUJBZ0lVUHVibGljQ2VydGlmaWNhdGUKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo=",
    "s3://opslink-output/opslink/restart_service/0a1b2c3d-4e5f/stdout",
    "AWS_REGION=eu-west-1 SERVICE=checkout WAIT_SECONDS=30",
    "ami-0e0e0e0e0e0e0e0e0 launched in subnet-0123456789abcdef0 (vpc-0a1b2c3d)",
    "SSM command 2b6c1f3a-9d4e-4f5a-8b7c-6d5e4f3a2b1c: 3/3 targets done, 0 errors",
    "Author: alice <alice@example.com>; reviewers: bob, carol",
    "sqlplus / as sysdba; rman target / nocatalog; connect to db01/eu-west-1 failed",
    "Authorization failed for user bob; authorization: pending review",
    "net use Z: \\\\srv\\share /user:bob * /persistent:no",
    "TLSPSKIdentity=psk-checkout-01 key-rotation scheduled",
    "config.json: eyJzZXJ2aWNlIjogImNoZWNrb3V0IiwgInJlcGxpY2FzIjogMywgInJlZ2lvbiI6ICJldS13ZXN0LTEifQ==",
]
