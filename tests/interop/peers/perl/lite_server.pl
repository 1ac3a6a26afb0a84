#!/usr/bin/perl
# XMLRPC::Lite (SOAP::Lite) as a server: perl lite_server.pl HOST PORT
use strict; use warnings;
use XMLRPC::Transport::HTTP;
my ($host, $port) = @ARGV;
sub add { my ($class, $a, $b) = @_; return $a + $b }
sub echo { my ($class, $x) = @_; return $x }
sub bigstruct { return {big => 1099511627776, small => 7, neg => -5} }
# a fault the documented way: die with a SOAP::Fault carrying an int code
sub fail { die SOAP::Fault->faultcode(4)->faultstring('boom') }
# a plain die: what the library makes of an unexpected error
sub crash { die "unexpected error\n" }
sub nil { return undef }
sub types { return [XMLRPC::Data->type(boolean => 1), XMLRPC::Data->type(boolean => 0), 1.5,
                    XMLRPC::Data->type(dateTime => '20261201T08:30:00'),
                    XMLRPC::Data->type(base64 => 'hello world ' x 8), ''] }
package main;
my %methods = map { ($_ => "Peer::$_") } qw(add echo bigstruct fail crash nil types);
XMLRPC::Transport::HTTP::Daemon->new(LocalAddr => $host, LocalPort => $port, ReuseAddr => 1)
    ->dispatch_to(qw(add echo bigstruct fail crash nil types))
    ->handle;
