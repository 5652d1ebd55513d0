package aws

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/imgraph/imgraph/rules"
)

// stepAuthorizeSSH opens the SSH port of the temporary group to the caller
// alone: Options.SSHCIDR, or else the address this machine reaches the
// instance from, as a /32. It never opens it to the world unless
// Options.SSHCIDR says 0.0.0.0/0.
type stepAuthorizeSSH struct{}

func (*stepAuthorizeSSH) Name() string { return "authorize ssh" }

func (*stepAuthorizeSSH) Run(ctx context.Context, s *bakeState) error {
	if s.ownGroups() || s.sshInterface() == rules.SSHInterfaceSessionManager {
		// The image's own groups are never changed; a session needs no
		// inbound port at all.
		return nil
	}
	s.phase("authorize ssh")
	port := s.attrs.SSHPort
	cidr := s.b.sshCIDR
	if cidr == "" {
		var err error
		if cidr, err = callerCIDR(ctx, s.address, port); err != nil {
			return err
		}
	}
	perm := types.IpPermission{
		IpProtocol: awssdk.String("tcp"),
		FromPort:   awssdk.Int32(int32(port)),
		ToPort:     awssdk.Int32(int32(port)),
	}
	desc := awssdk.String("imgraph: SSH to the build instance of " + s.label)
	if strings.Contains(cidr, ":") {
		perm.Ipv6Ranges = []types.Ipv6Range{{CidrIpv6: awssdk.String(cidr), Description: desc}}
	} else {
		perm.IpRanges = []types.IpRange{{CidrIp: awssdk.String(cidr), Description: desc}}
	}
	_, err := s.ec2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId:           awssdk.String(s.groupID),
		IpPermissions:     []types.IpPermission{perm},
		TagSpecifications: tagSpecs(s.tempTags(), types.ResourceTypeSecurityGroupRule),
	})
	// Duplicate: an attempt whose answer was lost added it.
	if err != nil && errorCode(err) != "InvalidPermission.Duplicate" {
		return fmt.Errorf("opening port %d of %s to %s: %w", port, s.groupID, cidr, err)
	}
	fmt.Fprintf(s.log, "==> port %d of instance %s (%s) is open to %s\n", port, s.instanceID, s.address, cidr)
	return nil
}

// The group goes with stepSecurityGroup's cleanup, and its rule with it.
func (*stepAuthorizeSSH) Cleanup(ctx context.Context, s *bakeState) error { return nil }

// checkIPURL tells a caller behind NAT its public address, as Packer asks it.
const checkIPURL = "https://checkip.amazonaws.com"

// callerCIDR is the address this machine reaches addr from, as a single
// address CIDR: the local address the OS picks for it, or, when a
// private address reaches a public one (through NAT), the public address
// the instance will see.
func callerCIDR(ctx context.Context, addr string, port int) (string, error) {
	conn, err := net.Dial("udp", net.JoinHostPort(addr, strconv.Itoa(port)))
	if err != nil {
		return "", fmt.Errorf("finding this machine's address towards %s: %w (give --ssh-cidr)", addr, err)
	}
	local := conn.LocalAddr().(*net.UDPAddr).IP
	conn.Close()
	remote := net.ParseIP(addr)
	if remote != nil && isPublic(remote) && !isPublic(local) {
		public, err := publicAddress(ctx)
		if err != nil {
			return "", fmt.Errorf("this machine (%s) reaches %s through NAT, and asking %s for its public address failed: %w (give --ssh-cidr)",
				local, addr, checkIPURL, err)
		}
		local = public
	}
	if ip4 := local.To4(); ip4 != nil {
		return ip4.String() + "/32", nil
	}
	return local.String() + "/128", nil
}

func isPublic(ip net.IP) bool {
	return ip.IsGlobalUnicast() && !ip.IsPrivate()
}

// publicAddress asks checkIPURL for this machine's public address.
func publicAddress(ctx context.Context) (net.IP, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, checkIPURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 256))
	if err != nil {
		return nil, err
	}
	ip := net.ParseIP(strings.TrimSpace(string(body)))
	if resp.StatusCode != http.StatusOK || ip == nil {
		return nil, fmt.Errorf("%s answered %s: %q", checkIPURL, resp.Status, strings.TrimSpace(string(body)))
	}
	return ip, nil
}
