#!/usr/bin/perl
# XMLRPC::Lite (SOAP::Lite) as a client: perl lite_client.pl HOST PORT SCENARIO
use strict; use warnings; use utf8;
use Data::Dumper; $Data::Dumper::Indent = 0; $Data::Dumper::Terse = 1; $Data::Dumper::Sortkeys = 1;
binmode STDOUT, ':utf8';
use XMLRPC::Lite;
my ($host, $port, $scenario) = @ARGV;
my $c = XMLRPC::Lite->proxy("http://$host:$port/RPC2");
my %calls = (
    plain  => ['add', 2, 3],
    string => ['echo', "a<b & c> \x{e9}"],
    bigint => ['demo.echo', {big => 1099511627776, small => 7, neg => -5}],
    fault  => ['demo.fault', 4, 'boom'],
    # no multicall helper: call system.multicall by hand
    multicall => ['system.multicall', [{methodName => 'add', params => [1, 2]},
                                       {methodName => 'demo.fault', params => [7, 'x']}]],
    nil    => ['demo.echo', undef],
    types  => ['demo.echo', [XMLRPC::Data->type(boolean => 1), XMLRPC::Data->type(boolean => 0), 1.5,
                             XMLRPC::Data->type(dateTime => '20261201T08:30:00'),
                             XMLRPC::Data->type(base64 => 'hello world ' x 8), '']],
);
my $call = $calls{$scenario} or die "unknown scenario $scenario\n";
my $r = eval { $c->call(@$call) };
if (!$r) { print "error: $@\n"; exit 0 }
if ($r->fault) { print "fault: ", $r->faultcode, " ", $r->faultstring, "\n" }
else { print "result: ", Dumper($r->result), "\n" }
