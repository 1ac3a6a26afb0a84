#!/usr/bin/perl
# Frontier::Client (Frontier::RPC2) as a client: perl frontier_client.pl HOST PORT SCENARIO
use strict; use warnings; use utf8;
use Data::Dumper; $Data::Dumper::Indent = 0; $Data::Dumper::Terse = 1; $Data::Dumper::Sortkeys = 1;
binmode STDOUT, ':utf8';
use Frontier::Client;
my ($host, $port, $scenario) = @ARGV;
my $c = Frontier::Client->new(url => "http://$host:$port/RPC2");
my %calls = (
    plain  => ['add', 2, 3],
    string => ['echo', "a<b & c> \x{e9}"],
    bigint => ['demo.echo', {big => 1099511627776, small => 7, neg => -5}],
    fault  => ['demo.fault', 4, 'boom'],
    multicall => ['system.multicall', [{methodName => 'add', params => [1, 2]},
                                       {methodName => 'demo.fault', params => [7, 'x']}]],
    nil    => ['demo.echo', undef],
    types  => ['demo.echo', [$c->boolean(1), $c->boolean(0), $c->double(1.5),
                             $c->date_time('20261201T08:30:00'), $c->base64('aGVsbG8gd29ybGQg'), '']],
);
my $call = $calls{$scenario} or die "unknown scenario $scenario\n";
my $r = eval { $c->call(@$call) };
if ($@) { (my $e = $@) =~ s/\s+$//; print "error: $e\n"; exit 0 }
print "result: ", Dumper($r), "\n";
