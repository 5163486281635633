//! The default gateway, where PCP and NAT-PMP requests go: read from the kernel's routing
//! table on Linux.

use std::net::Ipv4Addr;

/// The IPv4 default gateway from the kernel's routing table (`/proc/net/route`, Linux); `None`
/// elsewhere or without a default route (PCP and NAT-PMP are then not tried).
pub(super) fn default_gateway() -> Option<Ipv4Addr> {
    let table = std::fs::read_to_string("/proc/net/route").ok()?;
    default_gateway_in(&table)
}

/// The gateway of the first default route (destination 0.0.0.0, flags RTF_UP | RTF_GATEWAY)
/// in `/proc/net/route` text, whose addresses are hexadecimal in the host's byte order.
fn default_gateway_in(table: &str) -> Option<Ipv4Addr> {
    /// RTF_UP | RTF_GATEWAY (linux/route.h).
    const UP_GATEWAY: u32 = 0x1 | 0x2;
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (destination, gateway, flags) = (fields.get(1)?, fields.get(2)?, fields.get(3)?);
        let flags = u32::from_str_radix(flags, 16).ok()?;
        if *destination != "00000000" || flags & UP_GATEWAY != UP_GATEWAY {
            return None;
        }
        let raw = u32::from_str_radix(gateway, 16).ok()?;
        Some(Ipv4Addr::from(raw.to_ne_bytes()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_gateway_is_read_from_the_kernels_routing_table() {
        // Addresses are in the host's byte order; build the line the way the kernel does.
        let hex = |ip: Ipv4Addr| format!("{:08X}", u32::from_ne_bytes(ip.octets()));
        let gateway = Ipv4Addr::new(192, 0, 2, 1);
        let table = format!(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
             eth0\t{}\t00000000\t0001\t0\t0\t0\t{}\t0\t0\t0\n\
             eth0\t00000000\t{}\t0003\t0\t0\t0\t00000000\t0\t0\t0\n",
            hex(Ipv4Addr::new(192, 0, 2, 0)),
            hex(Ipv4Addr::new(255, 255, 255, 0)),
            hex(gateway),
        );
        assert_eq!(default_gateway_in(&table), Some(gateway));
        // No default route, a route that is down, or garbage: none.
        let down = table.replace("\t0003\t", "\t0002\t");
        assert_eq!(default_gateway_in(&down), None);
        assert_eq!(default_gateway_in("Iface\n"), None);
        assert_eq!(default_gateway_in("Iface\neth0 00000000 zz 0003\n"), None);
    }
}
