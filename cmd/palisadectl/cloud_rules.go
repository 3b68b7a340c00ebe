package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/palisadewaf/palisade/cloud/apitypes"
	"github.com/palisadewaf/palisade/cloud/apiv1"
	"github.com/palisadewaf/palisade/cloud/client"
	"github.com/palisadewaf/palisade/cloud/store"
)

// palisadectl cloud rules | iplist | triggers | integrations: what the
// cloud generates and serves to nodes (docs/RULES.md).

func init() {
	cloudCmd.AddCommand(rulesCmd(), iplistCmd(), triggersCmd(), integrationsCmd())
}

// openInput opens a file named on the command line, "-" for standard
// input.
func openInput(cmd *cobra.Command, name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(cmd.InOrStdin()), nil
	}
	return os.Open(name)
}

func ruleRows(rs []apitypes.Rule) [][]string {
	rows := [][]string{{"ID", "KIND", "APP", "BODY", "UPDATED"}}
	for _, r := range rs {
		body, _ := json.Marshal(r.Rule) // a decoded rule always encodes
		var m map[string]json.RawMessage
		json.Unmarshal(body, &m)
		rows = append(rows, []string{fmt.Sprint(r.ID), string(r.Kind), appOrAll(r.AppID), string(m[string(r.Kind)]), fmtTime(&r.UpdatedAt)})
	}
	return rows
}

func appOrAll(id int64) string {
	if id == 0 {
		return "all"
	}
	return fmt.Sprint(id)
}

func rulesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rules", Short: "Rules: list, get, create, replace, delete (bodies as JSON, docs/RULES.md)"}
	readRule := func(cmd *cobra.Command, file string) (apiv1.Rule, error) {
		var r apiv1.Rule
		f, err := openInput(cmd, file)
		if err != nil {
			return r, err
		}
		defer f.Close()
		dec := json.NewDecoder(f)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return r, fmt.Errorf("%s: %w", file, err)
		}
		return r, nil
	}
	var file string
	create := &cobra.Command{
		Use: "create -f FILE", Short: "Create a rule from a JSON file (- for standard input)", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			r, err := readRule(cmd, file)
			if err != nil {
				return err
			}
			got, err := c.CreateRule(cmd.Context(), r)
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), got, func() [][]string { return ruleRows([]apitypes.Rule{got}) })
		}),
	}
	replace := &cobra.Command{
		Use: "replace ID -f FILE", Short: "Replace a rule with a JSON file (- for standard input)", Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			r, err := readRule(cmd, file)
			if err != nil {
				return err
			}
			got, err := c.ReplaceRule(cmd.Context(), id, r)
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), got, func() [][]string { return ruleRows([]apitypes.Rule{got}) })
		}),
	}
	for _, c := range []*cobra.Command{create, replace} {
		c.Flags().StringVarP(&file, "file", "f", "-", "JSON rule, e.g. {\"kind\":\"sensitive\",\"app_id\":7,\"sensitive\":{\"point\":\"body|json.password\"}}")
	}
	cmd.AddCommand(create, replace,
		cloudList("List rules", (*client.Client).ListRules, ruleRows),
		cloudItem("get", "Show a rule", parseID, (*client.Client).GetRule, ruleRows),
		cloudAction("delete", "Delete a rule", parseID, (*client.Client).DeleteRule),
	)
	return cmd
}

func entryRows(es []apitypes.IPEntry) [][]string {
	rows := [][]string{{"ID", "LIST", "PREFIX", "APPS", "EXPIRES", "ORIGIN", "REASON"}}
	for _, e := range es {
		apps := "all"
		if len(e.AppIDs) > 0 {
			apps = strings.Trim(strings.Join(strings.Fields(fmt.Sprint(e.AppIDs)), ","), "[]")
		}
		origin := e.Origin
		if e.TriggerID != 0 {
			origin = fmt.Sprintf("%s %d", e.Origin, e.TriggerID)
		}
		var exp *time.Time
		if !e.Expires.IsZero() {
			exp = &e.Expires
		}
		rows = append(rows, []string{fmt.Sprint(e.ID), e.List, e.Prefix.String(), apps, fmtTime(exp), origin, e.Reason})
	}
	return rows
}

func iplistCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "iplist", Short: "IP lists (deny, allow, gray): list, add, delete, import, export"}
	var list, prefix, reason string
	var ttl time.Duration
	var apps []int64
	add := &cobra.Command{
		Use: "add", Short: "Add an entry: an address or CIDR, v4 or v6", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			req := apitypes.CreateIPEntryRequest{List: list, Prefix: prefix, Reason: reason, AppIDs: apps}
			if ttl > 0 {
				exp := time.Now().Add(ttl).UTC()
				req.Expires = &exp
			}
			e, err := c.CreateIPEntry(cmd.Context(), req)
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), e, func() [][]string { return entryRows([]apitypes.IPEntry{e}) })
		}),
	}
	f := add.Flags()
	f.StringVar(&list, "list", "deny", "deny, allow or gray")
	f.StringVar(&prefix, "prefix", "", "IP address or CIDR")
	f.StringVar(&reason, "reason", "", "why, as operators will read it")
	f.DurationVar(&ttl, "ttl", 0, "expire after this long (0: never)")
	f.Int64SliceVar(&apps, "app", nil, "only for this application (repeatable; none: every application)")
	add.MarkFlagRequired("prefix")

	cmd.AddCommand(add,
		cloudList("List the entries not expired", (*client.Client).ListIPEntries, entryRows),
		cloudAction("delete", "Delete an entry", parseID, (*client.Client).DeleteIPEntry),
		&cobra.Command{
			Use: "import FILE", Short: "Bulk import NDJSON entries (- for standard input), all or nothing", Args: cobra.ExactArgs(1),
			RunE: run(func(cmd *cobra.Command, c *client.Client, args []string) error {
				in, err := openInput(cmd, args[0])
				if err != nil {
					return err
				}
				defer in.Close()
				res, err := c.ImportIPEntries(cmd.Context(), in)
				if err != nil {
					return err
				}
				return output(cmd.OutOrStdout(), res, func() [][]string { return [][]string{{"IMPORTED"}, {fmt.Sprint(res.Imported)}} })
			}),
		}, &cobra.Command{
			Use: "export", Short: "Print the entries not expired as NDJSON, in the import format", Args: cobra.NoArgs,
			RunE: run(func(cmd *cobra.Command, c *client.Client, args []string) error {
				return c.ExportIPEntries(cmd.Context(), cmd.OutOrStdout())
			}),
		})
	return cmd
}

func triggerRows(ts []apitypes.Trigger) [][]string {
	rows := [][]string{{"ID", "NAME", "ON", "APP", "CONDITION", "ACTION"}}
	for _, t := range ts {
		c := t.Condition
		cond := fmt.Sprintf("%d %s in %s", c.Threshold, c.Kind, c.Window())
		if c.AttackType != "" {
			cond = fmt.Sprintf("%d %s attacks in %s", c.Threshold, c.AttackType, c.Window())
		}
		if c.Path != "" {
			cond += " on " + c.Path
		}
		action := t.Action.Kind
		if t.Action.DurationSeconds > 0 {
			action += " for " + t.Duration().String()
		}
		if t.Action.IntegrationID != 0 {
			action += fmt.Sprintf(", notify %d", t.Action.IntegrationID)
		}
		rows = append(rows, []string{fmt.Sprint(t.ID), t.Name, fmt.Sprint(t.Enabled), appOrAll(t.AppID), cond, action})
	}
	return rows
}

func firingRows(fs []apitypes.Firing) [][]string {
	rows := [][]string{{"ID", "TRIGGER", "SOURCE", "APP", "COUNT", "FIRED", "UNTIL", "ACTION", "ENTRY", "NOTE"}}
	for _, f := range fs {
		rows = append(rows, []string{fmt.Sprint(f.ID), fmt.Sprint(f.TriggerID), f.Source.String(), appOrAll(f.AppID), fmt.Sprint(f.Count),
			fmtTime(&f.FiredAt), fmtTime(&f.Until), f.Action, fmt.Sprint(f.EntryID), f.Note})
	}
	return rows
}

func triggersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "triggers", Short: "Triggers: rules generated from what nodes report"}
	var req apitypes.TriggerRequest
	var disabled bool
	var window, duration time.Duration
	// build turns the flags into a request; replace starts from the
	// trigger as it is, so that only the flags given change.
	build := func(cmd *cobra.Command, base apitypes.TriggerRequest) apitypes.TriggerRequest {
		f := cmd.Flags()
		out := base
		if f.Changed("name") {
			out.Name = req.Name
		}
		if f.Changed("app") {
			out.AppID = req.AppID
		}
		if f.Changed("count") {
			out.Condition.Kind = req.Condition.Kind
		}
		if f.Changed("attack-type") {
			out.Condition.AttackType = req.Condition.AttackType
		}
		if f.Changed("path") {
			out.Condition.Path = req.Condition.Path
		}
		if f.Changed("threshold") {
			out.Condition.Threshold = req.Condition.Threshold
		}
		if f.Changed("window") {
			out.Condition.WindowSeconds = int64(window / time.Second)
		}
		if f.Changed("action") {
			out.Action.Kind = req.Action.Kind
		}
		if f.Changed("duration") {
			out.Action.DurationSeconds = int64(duration / time.Second)
		}
		if f.Changed("integration") {
			out.Action.IntegrationID = req.Action.IntegrationID
		}
		if f.Changed("disabled") {
			enabled := !disabled
			out.Enabled = &enabled
		}
		return out
	}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a trigger, e.g. --count attacks --threshold 10 --window 5m --action deny --duration 1h",
		Args:  cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			t, err := c.CreateTrigger(cmd.Context(), build(cmd, apitypes.TriggerRequest{
				Condition: store.TriggerCondition{Kind: store.CountAttacks, Threshold: 10, WindowSeconds: 300},
				Action:    store.TriggerAction{Kind: store.ActionDeny, DurationSeconds: 3600}}))
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), t, func() [][]string { return triggerRows([]apitypes.Trigger{t}) })
		}),
	}
	replace := &cobra.Command{
		Use: "update ID", Short: "Change a trigger: only the flags given", Args: cobra.ExactArgs(1),
		RunE: run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			old, err := c.GetTrigger(cmd.Context(), id)
			if err != nil {
				return err
			}
			t, err := c.ReplaceTrigger(cmd.Context(), id, build(cmd, apitypes.TriggerRequest{Name: old.Name, Enabled: &old.Enabled,
				AppID: old.AppID, Condition: old.Condition, Action: old.Action}))
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), t, func() [][]string { return triggerRows([]apitypes.Trigger{t}) })
		}),
	}
	for _, c := range []*cobra.Command{create, replace} {
		f := c.Flags()
		f.StringVar(&req.Name, "name", "", "trigger name")
		f.Int64Var(&req.AppID, "app", 0, "only this application's reports, and list the source for it only (0: every application)")
		f.StringVar(&req.Condition.Kind, "count", store.CountAttacks, "what to count per source: attacks, distinct_attacks, brute_force, forced_browsing")
		f.StringVar(&req.Condition.AttackType, "attack-type", "", "attacks of this type only")
		f.StringVar(&req.Condition.Path, "path", "", "brute_force: requests to this path and under it")
		f.Int64Var(&req.Condition.Threshold, "threshold", 10, "fire when the count reaches this")
		f.DurationVar(&window, "window", 5*time.Minute, "counting window")
		f.StringVar(&req.Action.Kind, "action", store.ActionDeny, "deny, gray or notify")
		f.DurationVar(&duration, "duration", time.Hour, "how long the deny or gray entry lasts")
		f.Int64Var(&req.Action.IntegrationID, "integration", 0, "integration to notify")
		f.BoolVar(&disabled, "disabled", false, "create or set it disabled")
	}
	create.MarkFlagRequired("name")

	var triggerID int64
	var limit int
	firings := &cobra.Command{
		Use: "firings", Short: "What triggers fired, newest first", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			fs, err := c.ListFirings(cmd.Context(), triggerID, limit)
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), fs, func() [][]string { return firingRows(fs) })
		}),
	}
	firings.Flags().Int64Var(&triggerID, "trigger", 0, "only this trigger's")
	firings.Flags().IntVar(&limit, "limit", 100, "at most this many")

	cmd.AddCommand(create, replace, firings,
		cloudList("List triggers", (*client.Client).ListTriggers, triggerRows),
		cloudAction("delete", "Delete a trigger (its entries stay until they expire)", parseID, (*client.Client).DeleteTrigger),
	)
	return cmd
}

func deliveryRows(ds []apitypes.Delivery) [][]string {
	rows := [][]string{{"ID", "EVENT", "STATE", "ATTEMPTS", "STATUS", "UPDATED", "ERROR"}}
	for _, d := range ds {
		rows = append(rows, []string{fmt.Sprint(d.ID), d.Event, d.State, fmt.Sprint(d.Attempts), fmt.Sprint(d.HTTPStatus), fmtTime(&d.UpdatedAt), d.Error})
	}
	return rows
}

func integrationsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "integrations", Short: "Webhook and Slack integrations: list, create, delete, test, deliveries"}
	var req apitypes.CreateIntegrationRequest
	create := &cobra.Command{
		Use: "create", Short: "Create an integration; prints the signing secret once", Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, c *client.Client, args []string) error {
			in, err := c.CreateIntegration(cmd.Context(), req)
			if err != nil {
				return err
			}
			return output(cmd.OutOrStdout(), in, func() [][]string {
				return [][]string{{"ID", "NAME", "KIND", "SECRET (shown once)"}, {fmt.Sprint(in.Integration.ID), in.Integration.Name, in.Integration.Kind, in.Secret}}
			})
		}),
	}
	create.Flags().StringVar(&req.Name, "name", "", "integration name")
	create.Flags().StringVar(&req.Kind, "kind", store.IntegrationWebhook, "webhook (signed JSON) or slack")
	create.Flags().StringVar(&req.URL, "url", "", "where to post")
	create.MarkFlagRequired("name")
	create.MarkFlagRequired("url")
	cmd.AddCommand(create,
		cloudList("List integrations", (*client.Client).ListIntegrations, integrationRows),
		cloudAction("delete", "Delete an integration and its delivery log", parseID, (*client.Client).DeleteIntegration),
		cloudItem("test", "Send a test message once and show how it went", parseID, (*client.Client).TestIntegration, deliveryRows),
		cloudItem("deliveries", "The delivery log, newest first", parseID, (*client.Client).ListDeliveries,
			func(ds [][]apitypes.Delivery) [][]string { return deliveryRows(ds[0]) }),
	)
	return cmd
}

func integrationRows(is []apitypes.Integration) [][]string {
	rows := [][]string{{"ID", "NAME", "KIND", "CREATED"}}
	for _, i := range is {
		rows = append(rows, []string{fmt.Sprint(i.ID), i.Name, i.Kind, fmtTime(&i.CreatedAt)})
	}
	return rows
}
