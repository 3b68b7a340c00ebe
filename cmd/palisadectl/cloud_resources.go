package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/client"
)

func init() {
	cloudCmd.AddCommand(appsCmd(), nodesCmd(), eventsCmd(), attacksCmd())
}

func appRows(as []apitypes.App) [][]string {
	rows := [][]string{{"ID", "NAME", "MODE", "HOSTS", "UPDATED"}}
	for _, a := range as {
		rows = append(rows, []string{fmt.Sprint(a.ID), a.Name, a.FiltrationMode, strings.Join(a.Hosts, ","), fmtTime(&a.UpdatedAt)})
	}
	return rows
}

func appsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "apps", Short: "Applications: list, get, create, update, delete"}
	cmd.AddCommand(
		cloudList("List applications", (*client.Client).ListApps, appRows),
		cloudItem("get", "Show an application", parseID, (*client.Client).GetApp, appRows),
		cloudAction("delete", "Delete an application (its events stay)", parseID, (*client.Client).DeleteApp),
	)

	var name, mode, desc string
	var hosts []string
	create := &cobra.Command{
		Use: "create", Short: "Create an application", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newCloudClient(true)
			if err != nil {
				return err
			}
			a, err := c.CreateApp(cmd.Context(), apitypes.CreateAppRequest{Name: name, Description: desc, FiltrationMode: mode, Hosts: hosts})
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), a, func() [][]string { return appRows([]apitypes.App{a}) })
		},
	}
	create.Flags().StringVar(&name, "name", "", "application name")
	create.Flags().StringVar(&mode, "mode", "monitoring", "filtration mode: off, monitoring, safe_blocking, block")
	create.Flags().StringVar(&desc, "description", "", "description")
	create.Flags().StringSliceVar(&hosts, "host", nil, "host name the application answers to (repeatable)")
	create.MarkFlagRequired("name")

	update := &cobra.Command{
		Use: "update ID", Short: "Change an application's name, mode, description or hosts", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			var req apitypes.UpdateAppRequest
			f := cmd.Flags()
			if f.Changed("name") {
				req.Name = &name
			}
			if f.Changed("mode") {
				req.FiltrationMode = &mode
			}
			if f.Changed("description") {
				req.Description = &desc
			}
			if f.Changed("host") {
				req.Hosts = &hosts
			}
			c, err := newCloudClient(true)
			if err != nil {
				return err
			}
			a, err := c.UpdateApp(cmd.Context(), id, req)
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), a, func() [][]string { return appRows([]apitypes.App{a}) })
		},
	}
	update.Flags().StringVar(&name, "name", "", "new name")
	update.Flags().StringVar(&mode, "mode", "", "new filtration mode")
	update.Flags().StringVar(&desc, "description", "", "new description")
	update.Flags().StringSliceVar(&hosts, "host", nil, "host names, replacing the old ones (repeatable)")
	cmd.AddCommand(create, update)
	return cmd
}

func nodeRows(ns []apitypes.NodeView) [][]string {
	rows := [][]string{{"ID", "NAME", "STATE", "LAST SEEN", "VERSION", "RULESET", "SPOOL EVENTS", "LAST IP"}}
	for _, n := range ns {
		rows = append(rows, []string{n.ID, n.Name, string(n.State), fmtTime(n.LastSeenAt), n.AgentVersion,
			fmt.Sprint(n.RulesetVersion), fmt.Sprint(n.SpoolEvents), n.LastIP})
	}
	return rows
}

func nodesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "nodes", Short: "Nodes: list, get, revoke, enrollment tokens"}
	cmd.AddCommand(
		cloudList("List nodes with their health", (*client.Client).ListNodes, nodeRows),
		cloudItem("get", "Show a node's health", nodeID, (*client.Client).GetNode, nodeRows),
		cloudItem("revoke", "Revoke a node: its credential is refused from now on", nodeID, (*client.Client).RevokeNode, nodeRows),
	)
	var name string
	var ttl time.Duration
	enroll := &cobra.Command{
		Use: "enroll-token", Short: "Create a one-time node enrollment token and print its secret", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := newCloudClient(true)
			if err != nil {
				return err
			}
			t, err := c.CreateEnrollToken(cmd.Context(), name, ttl)
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), t, func() [][]string {
				return [][]string{{"ID", "NAME", "EXPIRES", "SECRET"}, {fmt.Sprint(t.Token.ID), t.Token.Name, fmtTime(&t.Token.ExpiresAt), t.Secret}}
			})
		},
	}
	enroll.Flags().StringVar(&name, "name", "", "a note on what it is for")
	enroll.Flags().DurationVar(&ttl, "ttl", time.Hour, "lifetime (1m to 168h)")
	cmd.AddCommand(enroll)
	return cmd
}

// eventFlags are the filters of the events commands.
type eventFlags struct {
	since      time.Duration
	from, to   string
	app        int64
	attackType string
	source     string
	decision   string
	point      string
	node       string
}

func (f *eventFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.DurationVar(&f.since, "since", 0, "only the last duration, e.g. 1h (instead of --from)")
	fl.StringVar(&f.from, "from", "", "RFC 3339 time: events at or after it")
	fl.StringVar(&f.to, "to", "", "RFC 3339 time: events before it")
	fl.Int64Var(&f.app, "app", 0, "application id")
	fl.StringVar(&f.attackType, "type", "", "attack type: sqli, xss, ...")
	fl.StringVar(&f.source, "source", "", "source IP or CIDR")
	fl.StringVar(&f.decision, "decision", "", "blocked, passed or monitored")
	fl.StringVar(&f.point, "point", "", "point, e.g. query.id")
	fl.StringVar(&f.node, "node", "", "node id")
}

func (f *eventFlags) query(cmd *cobra.Command) (client.EventQuery, error) {
	q := client.EventQuery{AttackType: f.attackType, Source: f.source, Decision: f.decision, Point: f.point, Node: f.node}
	if cmd.Flags().Changed("app") {
		q.App = &f.app
	}
	var err error
	if f.from != "" {
		if q.From, err = time.Parse(time.RFC3339, f.from); err != nil {
			return q, fmt.Errorf("--from: %w", err)
		}
	}
	if f.since > 0 {
		q.From = time.Now().Add(-f.since)
	}
	if f.to != "" {
		if q.To, err = time.Parse(time.RFC3339, f.to); err != nil {
			return q, fmt.Errorf("--to: %w", err)
		}
	}
	return q, nil
}

func eventRows(es []apitypes.Event) [][]string {
	rows := [][]string{{"TIME", "APP", "SOURCE", "TYPE", "POINT", "DECISION", "METHOD", "HOST", "PATH", "ID"}}
	for _, e := range es {
		rows = append(rows, []string{fmtTime(&e.Time), fmt.Sprint(e.AppID), e.SourceIP, e.AttackType, e.Point, string(e.Decision),
			e.Method, e.Host, clipText(e.Path, 60), e.ID})
	}
	return rows
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func eventsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "events", Short: "Events: list and search, aggregate"}
	var f eventFlags
	var limit int
	var all bool
	run := func(cmd *cobra.Command, args []string) error {
		q, err := f.query(cmd)
		if err != nil {
			return err
		}
		c, err := newCloudClient(true)
		if err != nil {
			return err
		}
		q.Limit = min(limit, 1000)
		var events []apitypes.Event
		for {
			page, next, err := c.SearchEvents(cmd.Context(), q)
			if err != nil {
				return err
			}
			events = append(events, page...)
			if next == "" || (!all && len(events) >= limit) {
				break
			}
			q.Cursor = next
		}
		if !all && len(events) > limit {
			events = events[:limit]
		}
		return output(cmd.OutOrStdout(), events, func() [][]string { return eventRows(events) })
	}
	list := &cobra.Command{Use: "list", Short: "List events, newest first", Args: cobra.NoArgs, RunE: run}
	search := &cobra.Command{Use: "search", Short: "Search events by time, application, type, source IP/CIDR, decision, point, node", Args: cobra.NoArgs, RunE: run}
	for _, c := range []*cobra.Command{list, search} {
		f.register(c)
		c.Flags().IntVar(&limit, "limit", 50, "at most this many events")
		c.Flags().BoolVar(&all, "all", false, "every matching event, page after page")
	}

	var af eventFlags
	var by string
	var bucket time.Duration
	aggregate := &cobra.Command{
		Use: "aggregate", Short: "Count events by attack_type, source_ip, point, decision, app_id or node_id, optionally over time", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := af.query(cmd)
			if err != nil {
				return err
			}
			c, err := newCloudClient(true)
			if err != nil {
				return err
			}
			agg, err := c.AggregateEvents(cmd.Context(), q, by, bucket)
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), agg, func() [][]string {
				rows := [][]string{{"BUCKET", strings.ToUpper(by), "EVENTS"}}
				for _, r := range agg.Rows {
					rows = append(rows, []string{fmtTime(r.Bucket), r.Key, fmt.Sprint(r.Count)})
				}
				return rows
			})
		},
	}
	af.register(aggregate)
	aggregate.Flags().StringVar(&by, "by", "attack_type", "field to group by")
	aggregate.Flags().DurationVar(&bucket, "bucket", 0, "time bucket, e.g. 1h (default: no time axis)")
	cmd.AddCommand(list, search, aggregate)
	return cmd
}

func attacksCmd() *cobra.Command {
	var f eventFlags
	cmd := &cobra.Command{
		Use: "attacks", Short: "Attacks: events grouped by application, type, point and source", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q, err := f.query(cmd)
			if err != nil {
				return err
			}
			c, err := newCloudClient(true)
			if err != nil {
				return err
			}
			as, err := c.Attacks(cmd.Context(), q)
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), as, func() [][]string {
				rows := [][]string{{"FIRST SEEN", "LAST SEEN", "APP", "SOURCE", "TYPE", "POINT", "EVENTS", "BLOCKED"}}
				for _, a := range as {
					rows = append(rows, []string{fmtTime(&a.FirstSeen), fmtTime(&a.LastSeen), fmt.Sprint(a.AppID), a.SourceIP,
						a.AttackType, a.Point, fmt.Sprint(a.Events), fmt.Sprint(a.Blocked)})
				}
				return rows
			})
		},
	}
	f.register(cmd)
	return cmd
}
