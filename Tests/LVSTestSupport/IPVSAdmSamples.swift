/// Sample `ipvsadm` text shared by the format, import and real-kernel tests.
public enum IPVSAdmSamples {
    /// `ipvsadm -Sn` output covering every kind of line: NAT port mapping, weight 0, sh with both
    /// flags and persistence, GUE with a port and checksum, UDP one-packet, IPv6 with mh and a
    /// mixed-family IPIP tunnel, fwmark with a persistence netmask, an IPv6 fwmark. Feeding it to
    /// `ipvsadm -R` and running `ipvsadm -Sn` prints it back identically (protocol reference §9.1).
    public static let saveExample = """
        -A -t 192.0.2.10:80 -s wlc
        -a -t 192.0.2.10:80 -r 10.0.0.11:8080 -m -w 1
        -a -t 192.0.2.10:80 -r 10.0.0.12:8080 -m -w 0
        -A -t 192.0.2.10:443 -s sh -p 360 -b sh-fallback,sh-port
        -a -t 192.0.2.10:443 -r 10.0.0.11:443 -g -w 100
        -a -t 192.0.2.10:443 -r 10.9.0.7:443 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum
        -A -u 192.0.2.53:53 -s rr -o
        -a -u 192.0.2.53:53 -r 10.0.0.21:53 -m -w 1
        -A -t [2001:db8::10]:80 -s mh -b mh-fallback
        -a -t [2001:db8::10]:80 -r 10.1.0.5:80 -i -w 1 --tun-type ipip
        -a -t [2001:db8::10]:80 -r [2001:db8:1::11]:80 -g -w 1
        -A -f 7 -s rr -p 300 -M 255.255.255.0
        -a -f 7 -r 10.0.0.31:0 -g -w 1
        -A -f 8 -6 -s wlc

        """
}
