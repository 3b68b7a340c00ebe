// Command palisadectl is the operator's command line for Palisade: the
// local agent's admin API (IP lists, XDP statistics) over its unix socket,
// and the cloud's public API (login, applications, nodes, events).
//
// Each command group lives in its own file and registers itself on root
// in init(); the work is done by the client packages they call.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/palisadewaf/palisade/agent/version"
)

var root = &cobra.Command{
	Use:           "palisadectl",
	Short:         "Manage a Palisade agent and the Palisade cloud",
	Version:       version.Version,
	SilenceUsage:  true,
	SilenceErrors: true,
}

func main() {
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "palisadectl:", err)
		os.Exit(1)
	}
}
