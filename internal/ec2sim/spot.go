package ec2sim

import (
	"strconv"
)

// FaultNoSpotCapacity answers the RunInstances requests that ask for spot
// instances with InsufficientInstanceCapacity, as EC2 does when a spot
// pool has no capacity; on-demand requests go through. Times counts
// requests (an SDK retries this error: give 0, always, to make a whole
// call fail).
const FaultNoSpotCapacity FaultKind = "no-spot-capacity"

// spotOptions are a spot instance's market options, as RunInstances
// gave them.
type spotOptions struct {
	requestID string // sir-…
	maxPrice  string
}

// launchMarket reads InstanceMarketOptions of RunInstances: nil for an
// on-demand launch. The simulator serves one-time requests interrupted by
// termination, the defaults; see the README for what it refuses.
func (c *call) launchMarket() (*spotOptions, *apiError) {
	p := c.params.sub("InstanceMarketOptions")
	market := p.get("MarketType")
	spot := p.sub("SpotOptions")
	switch market {
	case "":
		for _, name := range []string{"MaxPrice", "SpotInstanceType", "InstanceInterruptionBehavior", "ValidUntil", "BlockDurationMinutes"} {
			if spot.has(name) {
				return nil, newError("InvalidParameterValue", "SpotOptions are given, but InstanceMarketOptions.MarketType is not spot")
			}
		}
		return nil, nil
	case "spot":
	case "capacity-block":
		return nil, newError("InvalidParameterValue", "Value (capacity-block) for parameter InstanceMarketOptions.MarketType is not supported by the simulator")
	default:
		return nil, newError("InvalidParameterValue", "Value (%s) for parameter InstanceMarketOptions.MarketType is invalid. Valid values: spot, capacity-block", market)
	}
	typ := spot.get("SpotInstanceType")
	behavior := spot.get("InstanceInterruptionBehavior")
	switch typ {
	case "", "one-time":
		typ = "one-time"
	case "persistent":
		return nil, newError("InvalidParameterValue", "Value (persistent) for parameter SpotInstanceType is not supported by the simulator")
	default:
		return nil, newError("InvalidParameterValue", "Value (%s) for parameter SpotInstanceType is invalid. Valid values: one-time, persistent", typ)
	}
	switch behavior {
	case "", "terminate":
	case "stop", "hibernate":
		return nil, newError("InvalidParameterCombination", "The request with type '%s' is not supported when instanceInterruptionBehavior is set to '%s'.", typ, behavior)
	default:
		return nil, newError("InvalidParameterValue", "Value (%s) for parameter InstanceInterruptionBehavior is invalid. Valid values: hibernate, stop, terminate", behavior)
	}
	if spot.has("ValidUntil") {
		return nil, newError("InvalidParameterCombination", "ValidUntil is supported only for persistent Spot Instance requests")
	}
	out := &spotOptions{requestID: newID("sir-")[:12]}
	if price := spot.get("MaxPrice"); price != "" {
		v, err := strconv.ParseFloat(price, 64)
		if err != nil || v < 0.001 {
			return nil, newError("InvalidParameterValue", "Value (%s) for parameter MaxPrice is invalid. The maximum price must be a number of US dollars above 0.001", price)
		}
		out.maxPrice = price
	}
	if c.sim.takeActionFault(FaultNoSpotCapacity, c.region.name, "RunInstances") != nil {
		return nil, newError("InsufficientInstanceCapacity", "There is no Spot capacity available that matches your request.")
	}
	return out, nil
}

// stoppable refuses to stop a spot instance: every spot instance of the
// simulator belongs to a one-time request.
func (in *instance) stoppable() *apiError {
	if in.spot != nil {
		return newError("UnsupportedOperation", "You can't stop the Spot Instance '%s' because it is associated with a one-time Spot Instance request. "+
			"You can only stop Spot Instances associated with persistent Spot Instance requests.", in.id)
	}
	return nil
}

// lifecycle is the instance's instanceLifecycle: "spot", or "" for an
// on-demand instance (EC2 leaves it out).
func (in *instance) lifecycle() string {
	if in.spot != nil {
		return "spot"
	}
	return ""
}

func (in *instance) spotRequestID() string {
	if in.spot == nil {
		return ""
	}
	return in.spot.requestID
}
