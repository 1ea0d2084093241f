// Package cliflags registers a command's flags under several names that share one
// variable, so FedKeeper's commands also take the seed's getopt spellings (-c and
// --configfile beside -config, --remove beside -r), and prints a usage that lists each
// flag once with all its names. Go's flag package reads -name and --name alike, so an
// alias is just one more name for the same variable; left to itself, its usage would
// list every alias as a flag of its own.
package cliflags

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// Set is a command's flags.
type Set struct {
	fs    *flag.FlagSet
	intro string
	// flags holds each flag's names, in the order the flags were registered.
	flags [][]string
}

// New returns an empty set for the command name; intro is printed above the flags in
// the usage (a line such as "usage: starter [flags]"). Parse errors and the usage go
// to out.
func New(name, intro string, out io.Writer) *Set {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(out)
	s := &Set{fs: fs, intro: intro}
	fs.Usage = s.printUsage
	return s
}

// Bool registers a boolean flag under every name; the first is the one the usage
// leads with.
func (s *Set) Bool(p *bool, usage string, names ...string) {
	for _, n := range names {
		s.fs.BoolVar(p, n, *p, usage)
	}
	s.flags = append(s.flags, names)
}

// String registers a string flag with a default under every name. As in the flag
// package, a `quoted` word of the usage names the flag's value.
func (s *Set) String(p *string, value, usage string, names ...string) {
	for _, n := range names {
		s.fs.StringVar(p, n, value, usage)
	}
	s.flags = append(s.flags, names)
}

// Parse reads the arguments; -h and -help return flag.ErrHelp after printing the usage.
// Arguments that are not flags are an error: none of the commands takes any, and a
// stray word usually is a flag's value whose flag was misspelt.
func (s *Set) Parse(args []string) error {
	if err := s.fs.Parse(args); err != nil {
		return err
	}
	if rest := s.fs.Args(); len(rest) > 0 {
		err := fmt.Errorf("unexpected argument %q (flags start with -)", rest[0])
		fmt.Fprintln(s.fs.Output(), err)
		s.printUsage()
		return err
	}
	return nil
}

// Usage writes the usage to w.
func (s *Set) Usage(w io.Writer) {
	fmt.Fprintln(w, s.intro)
	for _, names := range s.flags {
		f := s.fs.Lookup(names[0])
		arg, usage := flag.UnquoteUsage(f)
		line := "  -" + strings.Join(names, ", -")
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			// A switch takes no value, whatever word of its usage is quoted.
			arg = ""
		}
		if arg != "" {
			line += " " + arg
		}
		if f.DefValue != "" && f.DefValue != "false" {
			usage += fmt.Sprintf(" (default %q)", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n    \t%s\n", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
	}
}

func (s *Set) printUsage() { s.Usage(s.fs.Output()) }
