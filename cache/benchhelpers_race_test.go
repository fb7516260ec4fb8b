//go:build race

package cache

// benchRaceEnabled reports that the race detector is on: the figures of
// TestFleet then runs its contrast with fewer caches (fleetContrastRace).
const benchRaceEnabled = true
