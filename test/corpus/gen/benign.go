package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// Benign text written to be hard: English with SQL and shell words,
// apostrophes, punctuation, code, HTML, SQL documentation.
var benignProse = []string{
	"Please select one or more options from the drop-down list and click update.",
	"I'd like to order 2 or 3 more of these; the union of both sets was what we wanted.",
	"Don't drop the table! It's the only copy -- we'll need it for Friday's report.",
	"Rock 'n' roll never dies; neither does O'Reilly's 'SQL Cookbook'.",
	"Where are you from? I'm from the union of Soviet... just kidding, I'm from Ohio.",
	"Select your size (S, M, L or XL) and then choose a colour.",
	"The script was great & the actors were even better. 10/10 would watch again!",
	"Tom & Jerry; Bonnie & Clyde; salt & pepper -- classic pairs.",
	"Insert coin to continue. Delete from your cart anything you don't need.",
	"My cat's name is Echo; my dog is called Sleep because he does little else.",
	"It's 50% off (today only!) -- use code SAVE50 at checkout; limit 1 per customer.",
	"He said: \"or else\" and left. Then: 'and so it begins'.",
	"Dear team, please find attached the Q3 report. Regards, Anne-Marie O'Connor",
	"1 or 2 spoons of sugar, to taste. Bake at 180°C for 25–30 minutes.",
	"The exec committee will select a new chair; drop by the office if you want to vote.",
	"Is 5 > 3? Yes. Is 'a' = 'a'? Also yes, said the teacher.",
	"We need to update the set of rules before the union meeting on Monday.",
	"Where's the report from last week? Table 3 is missing, and so is figure 2.",
	"Find the length of the rope, then cut it in half; repeat until done.",
	"Use a pipe | to separate values, e.g. red | green | blue.",
	"The price went from $10 to $20 (a 100% increase) - ridiculous!",
	"Who let the dogs out? Who, who, who?",
	"C'est la vie; l'été est fini. Qu'est-ce que c'est?",
	"Meeting notes: (1) budget; (2) hiring; (3) any other business.",
	"Order by phone or online; delivery takes 3-5 business days.",
	"Having trouble? Call 1-800-555-0199 or email support@example.com.",
	"The sleep(8) hours rule is a myth, according to the article.",
	"Type your name, then press Enter. More help is available below.",
	"I love this product!!! <3 would buy again :) ;-)",
	"Q&A session: what's the difference between 'affect' and 'effect'?",
	"Chapter 7 -- The Union Select Committee reported back in 1902.",
	"Kill two birds with one stone; cut corners; touch base; sort it out.",
	"Our café's menu: crème brûlée, jalapeño poppers, naïve salad.",
	"50 = 50, right? And 1=1 is trivially true in any field.",
	"Email me at john.o'brien@example.org -- or ring me on +44 20 7946 0958.",
	"Use the `ls -la` command to list files, and `cat file.txt` to print one.",
	"In Python you can write time.sleep(5) to wait five seconds.",
	"The template uses {{ user.name }} and {{ order.total }} placeholders.",
	"Set PATH=$HOME/bin:$PATH in your shell profile.",
	"Note: the ../images folder holds the thumbnails.",
	"Ping me when you're back; I'll be at the union bar.",
	"The function returns true || false depending on the flag.",
}

var codeSnippets = []string{
	"<pre><code>for (int i = 0; i < n; i++) {\n    sum += a[i];\n}</code></pre>",
	"<p>Try this:</p><pre>if (a < b && c > d) { return x; }</pre>",
	"```js\nconst items = list.filter(x => x.price > 10).map(x => x.name);\n```",
	"```python\ndef select(rows, where):\n    return [r for r in rows if where(r)]\n```",
	"<p>In Go, use <code>select</code> to wait on channels:</p><pre>select {\ncase v := <-ch:\n    fmt.Println(v)\n}</pre>",
	"You can join with <code>strings.Join(parts, \", \")</code> or use a <code>bytes.Buffer</code>.",
	"<blockquote>Premature optimization is the root of all evil.</blockquote><p>-- Donald Knuth</p>",
	"<h2>Update</h2><p>The <a href=\"https://docs.example.com/api/v2\">new API</a> is live. See <em>changelog</em>.</p>",
	"<p><img src=\"https://cdn.example.com/img/photo-1234.jpg\" alt=\"A photo of the lake\" width=\"600\"></p>",
	"<div class=\"note\" style=\"color: #333; background: #fafafa\"><strong>Tip:</strong> save often.</div>",
	"<ul><li>Eggs</li><li>Milk &amp; butter</li><li>Flour (500 g)</li></ul>",
	"<p>Watch the video:</p><iframe width=\"560\" height=\"315\" src=\"https://www.youtube.com/embed/dQw4w9WgXcQ\" frameborder=\"0\" allowfullscreen></iframe>",
	"<table><tr><th>Name</th><th>Qty</th></tr><tr><td>Bolt</td><td>12</td></tr></table>",
	"```bash\n$ ./configure --prefix=/usr/local\n$ make && make install\n```",
	"```sql\nSELECT name, price FROM products WHERE price > 10 ORDER BY price DESC;\n```",
	"<p>Use <code>git log --oneline | head -5</code> to see recent commits.</p>",
	"```java\npublic static void main(String[] args) {\n    System.out.println(\"Hello\");\n}\n```",
	"<p>The formula is <code>x = (-b ± √(b² - 4ac)) / 2a</code>.</p>",
	"<a href=\"mailto:team@example.com\">Contact us</a> | <a href=\"/about\">About</a>",
	"```css\n.button:hover { color: red; transform: scale(1.05); }\n```",
	"```yaml\nservices:\n  web:\n    image: nginx:1.25\n    ports: [\"80:80\"]\n```",
	"<p>The expression <code>a[i] = b[j] + c[k]</code> computes the sum.</p>",
	"```rust\nfn main() { let v: Vec<i32> = (1..10).filter(|x| x % 2 == 0).collect(); }\n```",
	"<p>Quote: &ldquo;Simplicity is prerequisite for reliability.&rdquo; &mdash; Dijkstra</p>",
}

var sqlDocs = []string{
	"SELECT * FROM users WHERE id = 1",
	"To list every table, run SELECT table_name FROM information_schema.tables WHERE table_schema = 'public';",
	"The UNION operator combines the result sets of two SELECT statements: SELECT city FROM customers UNION SELECT city FROM suppliers ORDER BY city;",
	"DROP TABLE removes a table and its data. Example: DROP TABLE IF EXISTS temp_orders;",
	"CREATE TABLE products (id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2));",
	"INSERT INTO orders (customer_id, total) VALUES (42, 19.99) RETURNING id;",
	"UPDATE accounts SET balance = balance - 100 WHERE id = 7;",
	"DELETE FROM sessions WHERE expires_at < now();",
	"Use LIKE for pattern matching: SELECT * FROM books WHERE title LIKE 'The%';",
	"A LEFT JOIN returns all rows from the left table: SELECT a.id, b.name FROM a LEFT JOIN b ON a.b_id = b.id;",
	"GROUP BY aggregates rows: SELECT country, COUNT(*) FROM customers GROUP BY country HAVING COUNT(*) > 5;",
	"Window functions: SELECT name, salary, rank() OVER (PARTITION BY dept ORDER BY salary DESC) FROM employees;",
	"The CASE expression: SELECT CASE WHEN score >= 90 THEN 'A' ELSE 'B' END FROM results;",
	"Transactions: BEGIN; UPDATE a SET x = 1; COMMIT;",
	"To see the server version, SELECT version(); in PostgreSQL or SELECT @@version in MySQL.",
	"Subqueries: SELECT name FROM employees WHERE dept_id IN (SELECT id FROM departments WHERE budget > 1000);",
	"ALTER TABLE users ADD COLUMN last_login timestamptz;",
	"The WHERE clause filters rows: WHERE status = 'active' AND (age > 18 OR verified = true)",
	"EXPLAIN ANALYZE SELECT * FROM big_table WHERE id = 5;",
	"GRANT SELECT ON ALL TABLES IN SCHEMA public TO readonly;",
	"String literals use single quotes: 'O''Reilly' is how you escape an apostrophe.",
	"Comments start with -- and run to the end of the line; /* block comments */ are also allowed.",
	"WITH recent AS (SELECT * FROM orders WHERE created > now() - interval '7 days') SELECT count(*) FROM recent;",
}

var searchTerms = []string{
	"running shoes", "union square hotels", "select comfort mattress", "drop earrings gold", "or tools",
	"how to delete facebook account", "script writing course", "table lamp", "where is my order", "1 or 2 bedroom apartment",
	"update iphone", "c++ tutorial", "sql join vs union", "alert sound settings", "rock & roll", "50% off", "o'reilly books",
	"java.lang.NullPointerException fix", "what does <br> mean", "best pizza near me", "the who tickets", "cat toys", "echo dot",
	"ls vs dir", "ping pong table", "node.js tutorial", "python sleep function", "bash for loop", "curl examples", "wget vs curl",
	"/etc/hosts file windows", "etc passwd format", "template literals javascript", "${variable} syntax", "how do I use $ne in mongo",
	"javascript alert box", "c# select where", "vitamin c & zinc", "AT&T phone plans", "R&D tax credit", "A/B testing",
}

// devPosts are what developers write on forums, issue trackers and chat:
// Markdown inline code quoting commands, HTML-escaped markup inside HTML,
// boolean search queries, titles that start like URLs.
var devPosts = []string{
	"To fix it, run `sudo apt-get update && sudo apt-get install nginx` and restart the service.",
	"I keep getting permission denied when I run `cat /var/log/syslog | grep error` on the server, any idea why?",
	"You can list the open ports with `ss -tlnp` or, on older systems, with `netstat -tlnp; lsof -i` as root.",
	"After `git fetch && git rebase origin/main` the build broke again, so I reverted my last two commits.",
	"The docs say to use `curl -fsSL https://get.example.com | sh` but I would rather read the script first.",
	"Setting `export PATH=$PATH:/usr/local/go/bin` in my profile fixed the command not found error for me.",
	"<p>Use <code>&lt;script&gt;</code> tags only at the end of the body, never in the head.</p>",
	"<p>To show a tag on the page, escape it: <code>&lt;img src=&quot;x&quot; onerror=&quot;...&quot;&gt;</code> is printed, not run.</p>",
	"<pre><code>&lt;iframe src=&quot;https://player.example.com/embed/42&quot;&gt;&lt;/iframe&gt;</code></pre><p>Paste this where the video goes.</p>",
}

// booleanSearches are search box queries with boolean operators.
var booleanSearches = []string{
	"(apple OR banana) AND juice", "cats AND (dogs OR birds)", "\"climate change\" AND (policy OR law)",
	"(remote OR hybrid) AND engineer AND NOT manager", "javascript: the good parts", "eval() in python tutorial",
}

func (g *gen) benign() {
	prose := append(append([]string{}, benignProse...), g.docParagraphs()...)
	html := append(append([]string{}, codeSnippets...), g.htmlFragments()...)

	// Browser-like page views.
	for i := 0; i < 800; i++ {
		path := pick(g.r, []string{"/", "/products", "/products/1234", "/blog/2024/05/how-we-ship", "/search", "/cart", "/account/orders", "/help/faq", "/static/app.js", "/img/logo.png", "/api/v1/items", "/category/shoes/running"})
		q := ""
		switch g.r.IntN(4) {
		case 0:
			q = "q=" + formEsc(pick(g.r, searchTerms)) + "&page=" + fmt.Sprint(1+g.r.IntN(20))
		case 1:
			q = fmt.Sprintf("utm_source=newsletter&utm_medium=email&utm_campaign=spring_sale_%d&ref=%s", g.r.IntN(99), pick(g.r, []string{"home", "footer", "nav"}))
		case 2:
			q = "sort=price&order=desc&filter[color]=red&filter[size]=M"
		}
		g.benignCase("page", "", "GET", path, q, g.browserHeaders(), "", "", "")
	}
	// Search and comments with hard prose in query, form and JSON.
	for i, p := range prose {
		switch i % 4 {
		case 0:
			g.benignCase("query", "", "GET", "/search", "q="+formEsc(p), g.browserHeaders(), "", "", "")
		case 1:
			g.benignCase("form", "", "POST", "/comments", "author=Anne&email=anne%40example.com&comment="+formEsc(p), g.browserHeaders(), "application/x-www-form-urlencoded", "", "")
		case 2:
			g.benignCase("json", "", "POST", "/api/v1/reviews", mustJSON(map[string]any{"rating": 1 + i%5, "title": firstWords(p, 6), "text": p, "verified": i%2 == 0}), g.apiHeaders(), "application/json", "", "")
		case 3:
			g.benignCase("multipart", "", "POST", "/support/ticket", "", g.browserHeaders(), "", "", "")
			g.cases[len(g.cases)-1].ContentType, g.cases[len(g.cases)-1].Body = multipartBody([][3]string{{"subject", "", firstWords(p, 5)}, {"message", "", p}})
		}
	}
	for _, p := range searchTerms {
		g.benignCase("query", "", "GET", "/search", "q="+formEsc(p)+"&lang=en", g.browserHeaders(), "", "", "")
	}
	// CMS and forum posts with code and HTML.
	for i, h := range html {
		if i%2 == 0 {
			g.benignCase("form", "", "POST", "/forum/reply", "thread=8812&body="+formEsc(h)+"&notify=on", g.browserHeaders(), "application/x-www-form-urlencoded", "", "")
		} else {
			g.benignCase("json", "", "POST", "/wp-json/wp/v2/posts", mustJSON(map[string]any{"title": "Post " + fmt.Sprint(i), "content": h, "status": "draft", "tags": []int{3, 7}}), g.apiHeaders(), "application/json", "", "")
		}
	}
	// SQL in documentation pages.
	for i, s := range sqlDocs {
		g.benignCase("json", "", "POST", "/docs/pages", mustJSON(map[string]any{"slug": fmt.Sprintf("sql-guide-%d", i), "body": "<h2>Example</h2><pre><code>" + s + "</code></pre><p>" + pick(g.r, benignProse) + "</p>"}), g.apiHeaders(), "application/json", "", "")
		g.benignCase("form", "", "POST", "/wiki/edit", "page=SQL_Guide&text="+formEsc(s)+"&summary=typo", g.browserHeaders(), "application/x-www-form-urlencoded", "", "")
	}
	// Base64 images in JSON and multipart.
	for i := 0; i < 60; i++ {
		img := g.pngBase64(8 + i%24)
		g.benignCase("json", "base64", "POST", "/api/v1/avatar", mustJSON(map[string]any{"user_id": 1000 + i, "image": "data:image/png;base64," + img}), g.apiHeaders(), "application/json", "", "")
		ct, body := multipartBody([][3]string{{"title", "", "Holiday photo " + fmt.Sprint(i)}, {"file", fmt.Sprintf("IMG_%04d.png", i), g.pngRaw(8 + i%24)}})
		g.benignCase("multipart", "", "POST", "/upload", "", g.browserHeaders(), ct, "", body)
	}
	// JSON API traffic.
	for i := 0; i < 700; i++ {
		g.benignCase("json", "", pick(g.r, []string{"POST", "PUT", "PATCH"}), fmt.Sprintf("/api/v2/orders/%d", 10000+i), g.apiJSON(), g.apiHeaders(), "application/json", "", "")
	}
	// URLs in parameters.
	for i := 0; i < 200; i++ {
		u := pick(g.r, []string{
			"https://www.example.org/articles/2024/why-tests-matter?utm_source=x",
			"https://shop.example.com/checkout/complete", "/account/settings", "/cart?step=2",
			"https://cdn.example.net/images/banner.jpg", "https://en.wikipedia.org/wiki/SQL",
			"https://github.com/example/project/blob/main/README.md", "http://blog.example.com/feed.xml",
			"https://docs.example.com/guide#install", "https://maps.example.com/?q=51.5,-0.12",
		})
		name := pick(g.r, []string{"url", "link", "website", "next", "return_to", "redirect_uri", "image", "feed", "source", "homepage", "share"})
		if strings.HasPrefix(u, "http") && (name == "next" || name == "return_to") {
			u = "https://shop.example.com/" + pick(g.r, []string{"orders", "account", "cart"})
		}
		g.benignCase("query", "", "GET", "/share", name+"="+formEsc(u)+"&title="+formEsc(pick(g.r, searchTerms)), g.browserHeaders(), "", "", "")
	}
	// Unusual but legal headers.
	for i := 0; i < 200; i++ {
		h := g.browserHeaders()
		h = append(h, pick(g.r, [][2]string{
			{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"},
			{"Sec-CH-UA", `"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"`},
			{"Forwarded", `for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711"`},
			{"X-Forwarded-For", "203.0.113.195, 70.41.3.18, 150.172.238.178"},
			{"If-None-Match", `W/"67ab43", "54ed21", "7892dd"`},
			{"Range", "bytes=0-499, -500"},
			{"Prefer", "return=minimal; wait=10, respond-async"},
			{"Link", `</style.css>; rel=preload; as=style, <https://fonts.example.com>; rel=preconnect`},
			{"Content-Disposition", `attachment; filename="report (final).pdf"; filename*=UTF-8''report%20%28final%29.pdf`},
			{"X-Request-ID", "f058ebd6-02f7-4d3f-942e-904344e8cde5"},
			{"Authorization", "Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"},
			{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:correct horse battery staple"))},
			{"Cache-Control", "no-cache, no-store, must-revalidate, max-age=0"},
			{"Accept-Language", "en-GB,en;q=0.9,fr-FR;q=0.8,fr;q=0.7,de;q=0.6"},
			{"X-Custom-Filter", "status:open AND (priority:high OR priority:urgent)"},
			{"Referer", "https://www.google.com/search?q=select+union+drop+table+tutorial&oq=sql"},
			{"User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"},
			{"User-Agent", "curl/8.5.0"},
			{"User-Agent", "python-requests/2.31.0"},
			{"User-Agent", "Googlebot/2.1 (+http://www.google.com/bot.html)"},
			{"Cookie", "_ga=GA1.2.1234567890.1700000000; _gid=GA1.2.987654321.1700000000; session=eyJ1c2VyIjoiYWxpY2UifQ; theme=dark; consent={\"ads\":false,\"stats\":true}"},
			{"X-Api-Version", "2024-05-01"},
			{"Accept-Encoding", "gzip, deflate, br, zstd"},
			{"Origin", "https://app.example.com"},
			{"X-Debug", "trace=1; level=verbose; modules=db,cache"},
		}))
		g.benignCase("header", "", "GET", "/api/v1/profile", "", h, "", "", "")
	}
	// GraphQL, SOAP/XML, gzip.
	for i := 0; i < 60; i++ {
		q := pick(g.r, []string{
			`query GetUser($id: ID!) { user(id: $id) { id name email posts(first: 10) { edges { node { title } } } } }`,
			`mutation { createPost(input: {title: "Union of sets, explained", body: "Select the items you like; or don't."}) { id } }`,
			`{ search(term: "drop shipping", limit: 5) { ... on Product { name price } } }`,
			`query { products(filter: {category: "shoes", priceLt: 100}) { name } }`,
		})
		g.benignCase("graphql", "", "POST", "/graphql", mustJSON(map[string]any{"query": q, "variables": map[string]any{"id": fmt.Sprint(100 + i)}, "operationName": nil}), g.apiHeaders(), "application/json", "", "")
	}
	for i := 0; i < 40; i++ {
		body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><m:GetPrice xmlns:m="https://www.example.org/stock"><m:Item>%s</m:Item><m:Note>%s</m:Note></m:GetPrice></soap:Body></soap:Envelope>`, xmlEsc(pick(g.r, searchTerms)), xmlEsc(pick(g.r, benignProse)))
		g.benignCase("xml", "", "POST", "/soap/stock", "", g.apiHeaders(), "text/xml; charset=utf-8", "", body)
	}
	for i := 0; i < 40; i++ {
		g.benignCase("json", "gzip", "POST", "/api/v1/events", "", g.apiHeaders(), "application/json", "gzip", "")
		c := &g.cases[len(g.cases)-1]
		c.BodyB64 = base64.StdEncoding.EncodeToString(gz([]byte(g.apiJSON())))
	}
	// Long prose paragraphs from real documentation, as blog posts.
	for i, p := range prose {
		if len(p) < 200 {
			continue
		}
		g.benignCase("form", "", "POST", "/blog/posts", "title=Notes+"+fmt.Sprint(i)+"&body="+formEsc(p), g.browserHeaders(), "application/x-www-form-urlencoded", "", "")
	}
	// Developer forums and search boxes.
	for i, p := range devPosts {
		g.benignCase("json", "", "POST", "/api/v1/issues/"+fmt.Sprint(300+i)+"/comments", mustJSON(map[string]any{"body": p, "draft": false}), g.apiHeaders(), "application/json", "", "")
		g.benignCase("form", "", "POST", "/forum/reply", "thread=9120&body="+formEsc(p)+"&notify=on", g.browserHeaders(), "application/x-www-form-urlencoded", "", "")
	}
	for _, q := range booleanSearches {
		g.benignCase("query", "", "GET", "/search", "q="+formEsc(q)+"&page=1", g.browserHeaders(), "", "", "")
	}
	// Logins and sign-ups: passwords people pick (words, digits, a few
	// symbols) and ones password managers generate.
	for i := 0; i < 300; i++ {
		pw := g.humanPassword()
		if i%3 == 2 {
			pw = g.generatedPassword()
		}
		user := pick(g.r, []string{"anne", "bob.smith", "carol@example.com", "dave_99", "eve.o'neil@example.org"})
		if i%2 == 0 {
			g.benignCase("form", "", "POST", "/login", "username="+formEsc(user)+"&password="+formEsc(pw)+"&remember=on", g.browserHeaders(), "application/x-www-form-urlencoded", "", "")
		} else {
			g.benignCase("json", "", "POST", "/api/v1/auth/signup", mustJSON(map[string]any{"email": user, "password": pw, "password_confirm": pw, "newsletter": false}), g.apiHeaders(), "application/json", "", "")
		}
	}
	// Native applications signing in through a browser (RFC 8252): the
	// loopback redirection URI goes to the authorization server twice,
	// to authorize and with the code.
	for i := 0; i < 40; i++ {
		redirect := pick(g.r, []string{"http://127.0.0.1:%d/", "http://localhost:%d/callback", "http://[::1]:%d/oauth2callback", "http://127.0.0.1:%d/authorization-code/callback"})
		redirect = fmt.Sprintf(redirect, 49152+g.r.IntN(16000))
		verifier := g.from(alnumChars+"-._~", 43)
		if i%2 == 0 {
			q := "response_type=code&client_id=" + fmt.Sprint(200000+g.r.IntN(99999)) + ".apps.example.test&redirect_uri=" + formEsc(redirect) +
				"&scope=" + formEsc("openid email profile") + "&state=" + g.from(alnumChars, 16) + "&code_challenge=" + g.from(alnumChars+"-_", 43) + "&code_challenge_method=S256"
			g.benignCase("query", "", "GET", "/oauth2/authorize", q, g.browserHeaders(), "", "", "")
		} else {
			body := "grant_type=authorization_code&code=" + formEsc("4/0A"+g.from(alnumChars+"-_", 40)) + "&redirect_uri=" + formEsc(redirect) + "&code_verifier=" + verifier + "&client_id=cli"
			g.benignCase("form", "", "POST", "/oauth2/token", "", g.apiHeaders(), "application/x-www-form-urlencoded", "", body)
		}
	}
	// API calls with tokens of an identity provider inside the cluster:
	// the issuer and audience are internal URLs.
	for i := 0; i < 30; i++ {
		iss := pick(g.r, []string{"http://keycloak.auth.svc.cluster.local/realms/staff", "http://localhost:8080/realms/master", "https://sso.corp.internal/realms/apps", "http://10.20.0.15:8180/auth/realms/shop"})
		claims := fmt.Sprintf(`{"exp":%d,"iat":%d,"jti":"%s","iss":%q,"aud":["account",%q],"sub":"%s","typ":"Bearer","azp":"web","scope":"openid email profile"}`,
			1800000000, 1700000000+g.r.IntN(1000000), g.from(alnumChars, 12), iss, "http://orders.default.svc:8080", g.from(alnumChars, 10))
		tok := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT","kid":"`+g.from(alnumChars, 8)+`"}`)) + "." +
			base64.RawURLEncoding.EncodeToString([]byte(claims)) + "." + g.from(alnumChars+"-_", 86)
		h := g.apiHeaders()
		for j := range h {
			if h[j][0] == "Authorization" {
				h[j][1] = "Bearer " + tok
			}
		}
		g.benignCase("header", "", "GET", fmt.Sprintf("/api/v1/orders/%d", 5000+i), "", h, "", "", "")
	}
	// Webhooks from systems inside a private network, which name
	// themselves by its DNS: alerts and pushes.
	for i := 0; i < 30; i++ {
		ns := pick(g.r, []string{"monitoring.svc", "observability.svc.cluster.local", "ops.internal", "mon.corp.lan"})
		var body string
		if i%2 == 0 {
			body = mustJSON(map[string]any{
				"version": "4", "status": pick(g.r, []string{"firing", "resolved"}), "receiver": "team-" + g.from("abcdefghij", 4),
				"groupLabels": map[string]any{"alertname": "HighLatency"}, "externalURL": "http://alertmanager-main-0." + ns + ":9093",
				"alerts": []any{map[string]any{"status": "firing", "labels": map[string]any{"alertname": "HighLatency", "instance": fmt.Sprintf("10.2.%d.%d:8080", g.r.IntN(255), g.r.IntN(255))},
					"generatorURL": "http://prometheus-k8s-0." + ns + ":9090/graph?g0.expr=" + formEsc("histogram_quantile(0.99, rate(http_request_duration_seconds_bucket[5m])) > 2") + "&g0.tab=1",
					"fingerprint":  g.from("0123456789abcdef", 16)}},
			})
		} else {
			host := "gitlab." + pick(g.r, []string{"corp.lan", "intranet", "home.arpa", "internal"})
			sha := g.from("0123456789abcdef", 40)
			body = mustJSON(map[string]any{
				"object_kind": "push", "ref": "refs/heads/main", "checkout_sha": sha,
				"project": map[string]any{"name": "app", "web_url": "http://" + host + "/team/app", "git_http_url": "http://" + host + "/team/app.git", "git_ssh_url": "git@" + host + ":team/app.git"},
				"commits": []any{map[string]any{"id": sha, "message": "Update README\n", "url": "http://" + host + "/team/app/-/commit/" + sha}},
			})
		}
		g.benignCase("json", "", "POST", "/hooks/"+pick(g.r, []string{"alerts", "gitlab"}), "", g.apiHeaders(), "application/json", "", body)
	}
	// APIs whose filters use MongoDB's operators: Strapi's query string,
	// Parse's where, the Data API's filter.
	for i := 0; i < 30; i++ {
		field := pick(g.r, []string{"title", "price", "publishedAt", "category", "rating"})
		op := pick(g.r, []string{"$eq", "$ne", "$gte", "$lte", "$in", "$containsi"})
		switch i % 3 {
		case 0:
			q := "filters[" + field + "][" + op + "]=" + formEsc(pick(g.r, searchTerms)) + "&filters[$or][0][status][$eq]=published&filters[$or][1][featured][$eq]=true&sort[0]=" + field + ":desc&pagination[page]=" + fmt.Sprint(1+g.r.IntN(9)) + "&populate=*"
			g.benignCase("query", "", "GET", "/api/articles", q, g.browserHeaders(), "", "", "")
		case 1:
			where := mustJSON(map[string]any{"score": map[string]any{"$gte": g.r.IntN(5000)}, "playerName": map[string]any{"$in": []string{"Sean Plott", "Jang Min Chul"}}})
			g.benignCase("query", "", "GET", "/parse/classes/GameScore", "where="+formEsc(where)+"&limit=20&order=-score", g.apiHeaders(), "", "", "")
		default:
			body := mustJSON(map[string]any{"dataSource": "Cluster0", "database": "shop", "collection": "orders",
				"filter": map[string]any{"total": map[string]any{"$gt": g.r.IntN(500)}, "$or": []any{map[string]any{"status": "paid"}, map[string]any{"status": "shipped"}}}, "limit": 50})
			g.benignCase("json", "", "POST", "/app/data-abc/endpoint/data/v1/action/find", "", g.apiHeaders(), "application/json", "", body)
		}
	}
	// Formats whose keys start with '$': JSON Schema and .NET's
	// polymorphic JSON.
	for i := 0; i < 20; i++ {
		var body string
		if i%2 == 0 {
			body = mustJSON(map[string]any{"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://example.com/schemas/" + g.from("abcdefgh", 6) + ".json",
				"$comment": pick(g.r, searchTerms), "type": "object", "required": []string{"id"},
				"properties": map[string]any{"id": map[string]any{"type": "integer"}, "items": map[string]any{"type": "array", "items": map[string]any{"$ref": "#/$defs/item"}}},
				"$defs":      map[string]any{"item": map[string]any{"type": "object", "properties": map[string]any{"sku": map[string]any{"type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$"}}}}})
		} else {
			body = mustJSON(map[string]any{"$type": pick(g.r, []string{"Shop.Models.Circle, Shop", "Shop.Models.Square, Shop", "circle"}), "size": g.r.IntN(100),
				"labels": map[string]any{"$type": "System.Collections.Generic.List`1[[System.String, mscorlib]], mscorlib", "$values": []string{pick(g.r, searchTerms)}}})
		}
		g.benignCase("json", "", "PUT", fmt.Sprintf("/api/shapes/%d", i), "", g.apiHeaders(), "application/json", "", body)
	}
}

const passwordSymbols = "!@#$%^&*()-_=+[]{};:'\",.<>/?\\|`~"

// humanPassword is a word or two, maybe capitalised, with some letters
// swapped for look-alikes, a number and one to three symbols.
func (g *gen) humanPassword() string {
	words := []string{"summer", "winter", "dragon", "monkey", "shadow", "master", "sunshine", "princess", "football", "welcome", "coffee", "tiger", "purple", "orange", "banana", "cookie", "pepper", "silver", "golden", "rocket"}
	look := map[byte]byte{'a': '@', 'o': '0', 'e': '3', 'i': '1', 's': '$'}
	var b []byte
	for k := 0; k < 1+g.r.IntN(2); k++ {
		w := []byte(pick(g.r, words))
		if g.r.IntN(2) == 0 {
			w[0] -= 'a' - 'A'
		}
		for j := range w {
			if l, ok := look[w[j]]; ok && g.r.IntN(3) == 0 {
				w[j] = l
			}
		}
		b = append(b, w...)
	}
	b = append(b, fmt.Sprint(g.r.IntN(2026))...)
	for k := 0; k < 1+g.r.IntN(3); k++ {
		at := g.r.IntN(len(b) + 1)
		b = append(b[:at], append([]byte{passwordSymbols[g.r.IntN(len(passwordSymbols))]}, b[at:]...)...)
	}
	return string(b)
}

// generatedPassword is what a password manager makes: 12 to 24 random
// letters, digits and symbols.
func (g *gen) generatedPassword() string {
	return g.from(alnumChars+passwordSymbols, 12+g.r.IntN(13))
}

func firstWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) > n {
		f = f[:n]
	}
	return strings.Join(f, " ")
}

func (g *gen) browserHeaders() [][2]string {
	return [][2]string{
		{"User-Agent", pick(g.r, []string{
			"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
			"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
			"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
			"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.82 Mobile Safari/537.36",
		})},
		{"Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"},
		{"Accept-Language", "en-US,en;q=0.5"},
		{"Accept-Encoding", "gzip, deflate, br"},
		{"Cookie", fmt.Sprintf("sid=%016x; cart_items=%d; lang=en", g.r.Uint64(), g.r.IntN(9))},
		{"Referer", "https://shop.example.com/"},
	}
}

func (g *gen) apiHeaders() [][2]string {
	return [][2]string{
		{"User-Agent", pick(g.r, []string{"okhttp/4.12.0", "axios/1.6.8", "Go-http-client/2.0", "MyApp/3.2.1 (iOS 17.4; iPhone15,2)"})},
		{"Accept", "application/json"},
		{"Authorization", "Bearer " + fakeJWT(g.r)},
		{"X-Request-ID", fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", g.r.Uint32(), g.r.IntN(65536), g.r.IntN(65536), g.r.IntN(65536), g.r.Uint64()&0xffffffffffff)},
	}
}

func fakeJWT(r *rand.Rand) string {
	h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","typ":"JWT","kid":"k1"}`))
	p := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"sub":"user-%d","scope":"read write","iat":%d,"exp":%d,"iss":"https://auth.example.com/"}`, r.IntN(100000), 1700000000+r.IntN(1000000), 1800000000)))
	sig := make([]byte, 32)
	for i := range sig {
		sig[i] = byte(r.IntN(256))
	}
	return h + "." + p + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func (g *gen) apiJSON() string {
	items := []map[string]any{}
	for j := 0; j < 1+g.r.IntN(5); j++ {
		items = append(items, map[string]any{
			"sku": fmt.Sprintf("SKU-%05d", g.r.IntN(99999)), "name": pick(g.r, []string{"Blue T-shirt (L)", "Coffee mug 350ml", "USB-C cable, 2 m", "Notebook A5 / dotted", "Select Series headphones", "Union Jack flag"}),
			"qty": 1 + g.r.IntN(4), "price": float64(g.r.IntN(10000)) / 100, "options": map[string]any{"gift": g.r.IntN(2) == 0, "note": pick(g.r, benignProse)},
		})
	}
	return mustJSON(map[string]any{
		"customer": map[string]any{"id": g.r.IntN(1000000), "email": fmt.Sprintf("user%d@example.com", g.r.IntN(9999)), "name": pick(g.r, []string{"Seán O'Neill", "Zoë Müller", "李雷", "Ana-María López", "D'Angelo Russell"}), "phone": "+1-202-555-0" + fmt.Sprint(100+g.r.IntN(899))},
		"items":    items, "currency": "EUR", "coupon": pick(g.r, []string{"", "SPRING-20", "OR-2024", "FREE_SHIP"}),
		"shipping":   map[string]any{"address": "12 Union Street, Apt 3", "city": "Aberdeen", "zip": "AB11 6BA", "instructions": pick(g.r, benignProse)},
		"created_at": "2024-05-14T09:21:33.512Z", "metadata": map[string]any{"source": "ios", "ab": []string{"checkout_v2", "select_shipping"}, "url": "https://shop.example.com/checkout?step=3"},
	})
}

func (g *gen) pngRaw(size int) string {
	img := image.NewRGBA(image.Rect(0, 0, size, size))
	for x := 0; x < size; x++ {
		for y := 0; y < size; y++ {
			img.Set(x, y, color.RGBA{uint8(g.r.IntN(256)), uint8(x * 8), uint8(y * 8), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.String()
}

func (g *gen) pngBase64(size int) string {
	return base64.StdEncoding.EncodeToString([]byte(g.pngRaw(size)))
}

var commentLine = regexp.MustCompile(`(?m)^\s*// ?`)

// docParagraphs extracts English paragraphs from the package documentation
// of the Go standard library installed with the toolchain: real technical
// prose, full of words like select, union, exec and drop.
func (g *gen) docParagraphs() []string {
	root := filepath.Join(goroot(), "src")
	files, _ := filepath.Glob(filepath.Join(root, "*", "doc.go"))
	more, _ := filepath.Glob(filepath.Join(root, "*", "*", "doc.go"))
	files = append(files, more...)
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		text := string(b)
		end := strings.Index(text, "\npackage ")
		if end < 0 {
			continue
		}
		text = commentLine.ReplaceAllString(text[:end], "")
		for _, p := range strings.Split(text, "\n\n") {
			p = strings.Join(strings.Fields(p), " ")
			if len(p) >= 60 && len(p) <= 1200 && !strings.HasPrefix(p, "Copyright") && !strings.HasPrefix(p, "/*") {
				out = append(out, p)
			}
		}
	}
	g.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:min(len(out), 900)]
}

// htmlFragments cuts paragraphs with markup and code out of the Go
// specification and memory model pages.
func (g *gen) htmlFragments() []string {
	var out []string
	for _, name := range []string{"go_spec.html", "go_mem.html"} {
		b, err := os.ReadFile(filepath.Join(goroot(), "doc", name))
		if err != nil {
			continue
		}
		for _, p := range strings.Split(string(b), "\n<p>") {
			p = strings.TrimSpace(p)
			if len(p) >= 80 && len(p) <= 2000 {
				out = append(out, "<p>"+p)
			}
		}
	}
	g.r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out[:min(len(out), 500)]
}

const alnumChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// from returns n characters drawn from alphabet.
func (g *gen) from(alphabet string, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[g.r.IntN(len(alphabet))]
	}
	return string(b)
}
