#!/usr/bin/perl
# Frontier::Daemon (Frontier::RPC2) as a server: perl frontier_server.pl HOST PORT
use strict; use warnings;
use Frontier::Daemon;
use Frontier::RPC2;
my ($host, $port) = @ARGV;
my $coder = Frontier::RPC2->new;
Frontier::Daemon->new(
    LocalAddr => $host, LocalPort => $port, ReuseAddr => 1,
    methods => {
        add       => sub { $_[0] + $_[1] },
        echo      => sub { $_[0] },
        bigstruct => sub { {big => 1099511627776, small => 7, neg => -5} },
        # Frontier has no fault object: any die becomes a fault
        fail      => sub { die "boom\n" },
        crash     => sub { die "unexpected error\n" },
        nil       => sub { undef },
        types     => sub { [$coder->boolean(1), $coder->boolean(0), $coder->double(1.5),
                            $coder->date_time('20261201T08:30:00'), $coder->base64('aGVsbG8gd29ybGQg'), ''] },
    },
);
