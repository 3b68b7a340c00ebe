package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/palisadewaf/palisade/agent/admin"
	"github.com/palisadewaf/palisade/agent/xdp"
)

// Commands over the local agent's admin socket: deny, allow, xdp, reload.

type agentFlags struct {
	socket string
	output string
}

func (f *agentFlags) register(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.socket, "socket", admin.DefaultSocket, "agent admin socket")
	cmd.PersistentFlags().StringVarP(&f.output, "output", "o", "table", "output format: table or json")
}

func (f *agentFlags) client() *admin.Client { return admin.NewClient(f.socket) }

func init() {
	for _, l := range []xdp.List{xdp.Deny, xdp.Allow} {
		root.AddCommand(listCommand(l))
	}
	root.AddCommand(xdpCommand(), reloadCommand())
}

func listCommand(l xdp.List) *cobra.Command {
	var f agentFlags
	cmd := &cobra.Command{
		Use:   l.String(),
		Short: fmt.Sprintf("Manage the agent's XDP %slist", l),
	}
	f.register(cmd)

	var ttl, reason string
	add := &cobra.Command{
		Use:   "add <ip|cidr>",
		Short: fmt.Sprintf("Add an address or prefix to the %slist", l),
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Validate locally too, for an error that names the argument
			// even when the agent is not running.
			if _, err := xdp.ParsePrefix(args[0]); err != nil {
				return err
			}
			if ttl != "" {
				if _, err := xdp.ParseTTL(ttl); err != nil {
					return err
				}
			}
			e, err := f.client().Add(cmd.Context(), l, admin.AddRequest{Prefix: args[0], TTL: ttl, Reason: reason})
			if err != nil {
				return err
			}
			return printListEntries(cmd.OutOrStdout(), f.output, []xdp.Entry{e})
		},
	}
	add.Flags().StringVar(&ttl, "ttl", "", "expire the entry after this duration (e.g. 10m, 24h)")
	add.Flags().StringVar(&reason, "reason", "", "why the entry exists")

	rm := &cobra.Command{
		Use:   "rm <ip|cidr>",
		Short: fmt.Sprintf("Remove an address or prefix from the %slist", l),
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := xdp.ParsePrefix(args[0]); err != nil {
				return err
			}
			return f.client().Remove(cmd.Context(), l, args[0])
		},
	}
	ls := &cobra.Command{
		Use:   "ls",
		Short: fmt.Sprintf("List the %slist", l),
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			entries, err := f.client().Entries(cmd.Context(), l)
			if err != nil {
				return err
			}
			return printListEntries(cmd.OutOrStdout(), f.output, entries)
		},
	}
	cmd.AddCommand(add, rm, ls)
	return cmd
}

func printListEntries(w io.Writer, format string, entries []xdp.Entry) error {
	if format == "json" {
		return printAgentJSON(w, entries)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PREFIX\tEXPIRES\tSOURCE\tREASON")
	for _, e := range entries {
		exp := "never"
		if !e.Expires.IsZero() {
			exp = e.Expires.Format(time.RFC3339) + " (in " + time.Until(e.Expires).Round(time.Second).String() + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.Prefix, exp, e.Source, e.Reason)
	}
	return tw.Flush()
}

func xdpCommand() *cobra.Command {
	var f agentFlags
	cmd := &cobra.Command{Use: "xdp", Short: "Inspect the agent's XDP filter"}
	f.register(cmd)
	cmd.AddCommand(&cobra.Command{
		Use:   "stats",
		Short: "Show attachments, packet counters, list sizes and recent drops",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := f.client().Stats(cmd.Context())
			if err != nil {
				return err
			}
			if f.output == "json" {
				return printAgentJSON(cmd.OutOrStdout(), st)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "INTERFACE\tMODE")
			for _, a := range st.Attachments {
				fmt.Fprintf(tw, "%s\t%s\n", a.Interface, a.Mode)
			}
			fmt.Fprintln(tw, "\nINTERFACE\tACTION\tREASON\tPACKETS\tBYTES")
			for _, c := range st.Counters {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", c.Interface, c.Action, c.Reason, c.Packets, c.Bytes)
			}
			fmt.Fprintf(tw, "\nLIST\tENTRIES\n")
			for _, l := range []string{"allow", "deny"} {
				fmt.Fprintf(tw, "%s\t%d\n", l, st.Lists[l])
			}
			fmt.Fprintf(tw, "\nRECENT DROPS (%d sampled in all)\tINTERFACE\tREASON\tSOURCE\tPROTO\tLEN\n", st.SamplesTotal)
			for _, s := range st.Samples {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\n", s.Time.Format(time.RFC3339), s.Interface, s.Reason, s.Source, s.Protocol, s.Length)
			}
			return tw.Flush()
		},
	})
	return cmd
}

func reloadCommand() *cobra.Command {
	var f agentFlags
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Ask the agent to reload its configuration (like SIGHUP)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), time.Minute)
			defer cancel()
			return f.client().Reload(ctx)
		},
	}
	f.register(cmd)
	return cmd
}

func printAgentJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
